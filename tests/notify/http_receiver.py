#!/usr/bin/env python3
"""http_receiver.py - a webhook receiver for test_notify: records each request, answers as its path says

Usage: http_receiver.py DIR

Listens on 127.0.0.1, on a port the system picks, and prints that port on a
line of its own. A request for /ANSWER/TAG is recorded in DIR/TAG.head (the
request line, then each header as "Name: value" on a line, as it came) and
DIR/TAG.body (the body's bytes), both in place before any answer, then
answered as ANSWER says:

    a status (204, 500, ...)  that status, without a body
    302                       a redirect to /204/TAG-followed
    big                       200 with 16 MiB of body
    hang                      nothing, ever: the connection stays open

Exits when its standard input closes: when the test that started it ends,
however it ends.
"""
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BIG = 16 * 1024 * 1024


def write_atomically(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


class Receiver(BaseHTTPRequestHandler):
    directory = "."

    def log_message(self, format, *args):
        pass

    def do_POST(self):
        self.record_and_answer()

    def do_GET(self):
        self.record_and_answer()

    def record_and_answer(self):
        parts = self.path.split("/")
        if len(parts) != 3 or not parts[2] or "." in parts[2]:
            self.send_error(400, "the path must be /ANSWER/TAG")
            return
        answer, tag = parts[1], parts[2]
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        head = self.requestline + "\n"
        head += "".join(f"{name}: {value}\n" for name, value in self.headers.items())
        base = os.path.join(self.directory, tag)
        write_atomically(base + ".body", body)
        write_atomically(base + ".head", head.encode("utf-8", "surrogateescape"))
        self.answer(answer, tag)

    def answer(self, answer, tag):
        if answer == "hang":
            threading.Event().wait()
        elif answer == "big":
            self.send_response(200)
            self.send_header("Content-Length", str(BIG))
            self.end_headers()
            chunk = b"x" * 65536
            try:
                for _ in range(BIG // len(chunk)):
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif answer == "302":
            self.send_response(302)
            self.send_header("Location", f"/204/{tag}-followed")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif answer.isdigit():
            self.send_response(int(answer))
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_error(400, "unknown answer")


def exit_when_stdin_closes():
    sys.stdin.buffer.read()
    os._exit(0)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: http_receiver.py DIR")
    Receiver.directory = sys.argv[1]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    server.daemon_threads = True
    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
