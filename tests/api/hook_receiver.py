#!/usr/bin/env python3
"""hook_receiver.py - webhook receiver for test_api_events: keeps every request, in order

Usage: hook_receiver.py DIR

Listens on 127.0.0.1, on a port the system picks, and prints that port on a
line of its own. Each request is kept as DIR/NNNNNN.req (a number that grows
by one with each request): the path on the first line, then each header as
"Name: value", an empty line, then the body's bytes; the file is in place
before the answer goes out. Then it answers, as the path's first part says:

    /ok/...          204
    /flaky/N/...     500 to the first N requests on that path, 204 after
    /fail/...        500, always

Exits when its standard input closes: when the test that started it ends,
however it ends.
"""
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
seen = {"requests": 0}
per_path = {}


class Receiver(BaseHTTPRequestHandler):
    directory = "."

    def log_message(self, format, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length) if length > 0 else b""
        head = [self.path] + [f"{k}: {v}" for k, v in self.headers.items()]
        with lock:
            seen["requests"] += 1
            n = seen["requests"]
            per_path[self.path] = per_path.get(self.path, 0) + 1
            count = per_path[self.path]
            name = os.path.join(self.directory, f"{n:06d}.req")
            with open(name + ".tmp", "wb") as f:
                f.write(("\n".join(head) + "\n\n").encode() + body)
            os.replace(name + ".tmp", name)
        self.send_response(self.status_for(count))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def status_for(self, count):
        parts = self.path.split("/")
        if len(parts) > 1 and parts[1] == "ok":
            return 204
        if len(parts) > 2 and parts[1] == "flaky" and parts[2].isdigit():
            return 500 if count <= int(parts[2]) else 204
        return 500


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: hook_receiver.py DIR")
    Receiver.directory = sys.argv[1]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()


if __name__ == "__main__":
    main()
