"""A small HTTP proxy that injects faults between zip-task and moto.

    python3 fault_proxy.py PORT UPSTREAM RULES_JSON

Each rule: {"method": "GET", "match": "substring of the path+query", "action": ..., "times": N}
applies to the first N matching requests. Actions:
  "truncate"   forward, but send only half the body and drop the connection
  "status:NNN" answer NNN with an S3-style XML error, without forwarding
  "hang"       send headers and half the body, then stall until killed
  "corrupt"    flip one byte in the middle of the request body, then forward (same length)
Every fault applied is logged on stderr as "FAULT <action> <method> <path>".
"""
import http.client
import json
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1])
UPSTREAM = urllib.parse.urlparse(sys.argv[2])
RULES = json.loads(sys.argv[3])
LOCK = threading.Lock()


def take_rule(method, path):
    with LOCK:
        for rule in RULES:
            if rule.get("method", method) == method and rule["match"] in path and rule.get("times", 1) > 0:
                rule["times"] = rule.get("times", 1) - 1
                return rule["action"]
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        action = take_rule(self.command, self.path)
        if action:
            sys.stderr.write("FAULT %s %s %s\n" % (action, self.command, self.path))
            sys.stderr.flush()
        if action and action.startswith("status:"):
            code = int(action.split(":")[1])
            payload = b"<?xml version=\"1.0\"?><Error><Code>InjectedFault</Code><Message>injected</Message></Error>"
            self.send_response(code)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        if action == "corrupt" and body:
            middle = len(body) // 2
            body = body[:middle] + bytes([body[middle] ^ 0xFF]) + body[middle + 1:]
        conn = http.client.HTTPConnection(UPSTREAM.hostname, UPSTREAM.port, timeout=120)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "expect")}
        headers["Host"] = "%s:%s" % (UPSTREAM.hostname, UPSTREAM.port)
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length", "server", "date"):
                self.send_header(k, v)
        upstream_length = resp.getheader("Content-Length")
        self.send_header("Content-Length", upstream_length if self.command == "HEAD" and upstream_length else str(len(data)))
        self.end_headers()
        if action in ("truncate", "hang") and self.command == "GET":
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            if action == "hang":
                time.sleep(3600)
            self.close_connection = True
            return
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
