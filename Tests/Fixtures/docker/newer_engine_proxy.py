"""A Docker engine as Docker 29 speaks, in front of this machine's older one: it listens on
the unix socket argv[1] and forwards to /var/run/docker.sock, refusing API versions below
1.44 as Docker 29 does (400, "client version X is too old. Minimum supported API version
is 1.44, ..."). Requests in 1.44 or later are forwarded as 1.41 (what the engine behind
speaks), a container's MAC address taken from its network endpoint (where 1.44 puts it)
back into its config. One line per request goes to the file argv[2]: `refused PATH`,
`forwarded PATH`, and `config-mac PATH` when a 1.44 create carried the MAC in its config."""
import asyncio, json, os, re, sys

from engine_pipe import pipe

listen, log_path = sys.argv[1], sys.argv[2]
log = open(log_path, "a", buffering=1)
MINIMUM = (1, 44)

async def handle(reader, writer):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, proto = lines[0].split(" ", 2)
    headers = [l for l in lines[1:] if l]
    length = next((int(l.split(":", 1)[1]) for l in headers if l.lower().startswith("content-length:")), 0)
    body = await reader.readexactly(length) if length else b""
    m = re.match(r"^/v(\d+)\.(\d+)(/.*)$", target)
    if m and (int(m.group(1)), int(m.group(2))) < MINIMUM:
        log.write("refused %s\n" % target)
        message = json.dumps({"message": "client version %s.%s is too old. Minimum supported API version is 1.44, please upgrade your client to a newer version" % (m.group(1), m.group(2))}).encode()
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(message) + message)
        await writer.drain()
        writer.close()
        return
    if m:
        target = "/v1.41" + m.group(3)
        if method == "POST" and m.group(3).startswith("/containers/create") and body:
            config = json.loads(body)
            if "MacAddress" in config:
                log.write("config-mac %s\n" % target)
            endpoints = (config.pop("NetworkingConfig", None) or {}).get("EndpointsConfig") or {}
            for endpoint in endpoints.values():
                if endpoint.get("MacAddress"):
                    config["MacAddress"] = endpoint["MacAddress"]
            body = json.dumps(config).encode()
            headers = [l for l in headers if not l.lower().startswith("content-length:")] + ["Content-Length: %d" % len(body)]
    log.write("forwarded %s %s\n" % (method, target))
    up_reader, up_writer = await asyncio.open_unix_connection("/var/run/docker.sock")
    up_writer.write(("%s %s %s\r\n" % (method, target, proto) + "".join(h + "\r\n" for h in headers) + "\r\n").encode("latin-1") + body)
    await up_writer.drain()
    await asyncio.gather(pipe(up_reader, writer), pipe(reader, up_writer), return_exceptions=True)

async def main():
    if os.path.exists(listen):
        os.unlink(listen)
    server = await asyncio.start_unix_server(handle, path=listen, limit=1 << 20)
    async with server:
        await server.serve_forever()

asyncio.run(main())
