"""A registry (Docker Registry HTTP API v2, read-only) serving one image: the `docker save`
archive argv[2], as NAME:TAG argv[3] (e.g. fl-test/pulled:1), on 127.0.0.1:argv[1] (plain
HTTP: the engine treats 127.0.0.0/8 as an insecure registry). Layers are served gzipped,
as registries hold them; every request is appended to the file argv[4]."""
import gzip, hashlib, http.server, json, sys, tarfile

port, archive, reference, log_path = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
name, tag = reference.rsplit(":", 1)
log = open(log_path, "a", buffering=1)

blobs = {}
def add(data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    blobs[digest] = data
    return digest

with tarfile.open(archive) as t:
    saved = json.load(t.extractfile("manifest.json"))[0]
    config = t.extractfile(saved["Config"]).read()
    layers = []
    for path in saved["Layers"]:
        data = gzip.compress(t.extractfile(path).read(), compresslevel=1)
        layers.append({"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": len(data), "digest": add(data)})
manifest = json.dumps({
    "schemaVersion": 2,
    "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
    "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(config), "digest": add(config)},
    "layers": layers,
}).encode()
manifest_digest = "sha256:" + hashlib.sha256(manifest).hexdigest()

class Registry(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        log.write("%s %s\n" % (self.command, self.path))
        if self.path == "/v2/":
            return self.reply(200, b"{}", [("Content-Type", "application/json")])
        if self.path in ("/v2/%s/manifests/%s" % (name, tag), "/v2/%s/manifests/%s" % (name, manifest_digest)):
            return self.reply(200, manifest, [("Content-Type", "application/vnd.docker.distribution.manifest.v2+json"),
                                              ("Docker-Content-Digest", manifest_digest)])
        prefix = "/v2/%s/blobs/" % name
        if self.path.startswith(prefix) and self.path[len(prefix):] in blobs:
            digest = self.path[len(prefix):]
            return self.reply(200, blobs[digest], [("Content-Type", "application/octet-stream"), ("Docker-Content-Digest", digest)])
        self.reply(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}', [("Content-Type", "application/json")])

    do_HEAD = do_GET

    def log_message(self, *args):
        pass

http.server.ThreadingHTTPServer(("127.0.0.1", port), Registry).serve_forever()
