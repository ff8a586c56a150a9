"""A registry that asks for Basic credentials and has no images: it records each request's
Authorization header (one line per request) in the file named by argv[2], so a test can see
what the Docker engine sent when it pulled. Listens on 127.0.0.1:argv[1] (plain HTTP: the
engine treats 127.0.0.0/8 as an insecure registry)."""
import http.server, sys

log = open(sys.argv[2], "a", buffering=1)

class Registry(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        auth = self.headers.get("Authorization")
        log.write("%s %s\n" % (self.path, auth))
        if not auth:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="fake"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path == "/v2/":
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")
            return
        body = b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}'
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_HEAD = do_GET

    def log_message(self, *args):
        pass

http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Registry).serve_forever()
