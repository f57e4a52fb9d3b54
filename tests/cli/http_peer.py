#!/usr/bin/env python3
"""A kernel-side HTTP/1.1 server (Python's http.server) for `ustack http`:

  GET  /bytes/N    N bytes of a fixed pattern, with Content-Length
  GET  /chunked/N  the same N bytes, chunked (Transfer-Encoding) in 1000-byte chunks
  GET  /close/N    the same N bytes as HTTP/1.0 with no length: the body ends at the close
  POST /echo       the request body back (Content-Length or chunked request bodies)
  GET  /truncated  says Content-Length: 1000, sends 10 bytes, closes
  GET  /garbage    a malformed status line
Prints "connection" for each new TCP connection (keep-alive is checked by counting).

usage: http_peer.py ADDR PORT
"""
import http.server
import sys


def pattern(n):
    return bytes((i * 7 + 3) & 0xFF for i in range(n))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        print("connection", flush=True)

    def log_message(self, *args):
        pass

    def do_GET(self):
        parts = self.path.split("/")
        if self.path.startswith("/bytes/"):
            body = pattern(int(parts[2]))
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path.startswith("/chunked/"):
            body = pattern(int(parts[2]))
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(body), 1000):
                c = body[i:i + 1000]
                self.wfile.write(b"%x\r\n" % len(c) + c + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        elif self.path.startswith("/close/"):
            self.wfile.write(b"HTTP/1.0 200 OK\r\nServer: peer\r\n\r\n" + pattern(int(parts[2])))
            self.close_connection = True
        elif self.path == "/truncated":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789")
            self.close_connection = True
        elif self.path == "/garbage":
            self.wfile.write(b"HTTP/1.1 twohundred OK\r\n\r\n")
            self.close_connection = True
        else:
            self.send_error(404)

    def do_POST(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                body += self.rfile.read(size)
                self.rfile.readline()
        else:
            body = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Request-Chunked",
                         "yes" if "Transfer-Encoding" in self.headers else "no")
        self.end_headers()
        self.wfile.write(body)


http.server.ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), Handler).serve_forever()
