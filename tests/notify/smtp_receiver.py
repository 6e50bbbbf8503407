#!/usr/bin/env python3
"""smtp_receiver.py - aiosmtpd, with mail_sink.Sink, on a port the system picks

Usage: smtp_receiver.py DIR

Debian's aiosmtpd (python3-aiosmtpd) as `python3 -m aiosmtpd -n -c
mail_sink.Sink DIR` runs it, but bound to 127.0.0.1:0 first and the port
printed on a line of its own, so that no other program can take the port
between choosing it and listening on it.

The relay offers AUTH without TLS (a careless relay); each AUTH a client
attempts is appended to DIR/auth-attempts, so that a test can see that no
password was sent in the clear. Exits when its standard input closes.
"""
import asyncio
import os
import socket
import sys

from aiosmtpd.smtp import SMTP, AuthResult

from mail_sink import Sink


def recording_authenticator(directory):
    def authenticate(server, session, envelope, mechanism, auth_data):
        with open(os.path.join(directory, "auth-attempts"), "a") as f:
            f.write(f"{mechanism}\n")
        return AuthResult(success=True)

    return authenticate


async def serve(directory):
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    handler = Sink(directory)
    server = await loop.create_server(
        lambda: SMTP(
            handler,
            hostname="relay.test",
            auth_require_tls=False,
            authenticator=recording_authenticator(directory),
        ),
        sock=sock,
    )
    print(sock.getsockname()[1], flush=True)
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    await stdin.read()
    server.close()


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: smtp_receiver.py DIR")
    asyncio.run(serve(sys.argv[1]))


if __name__ == "__main__":
    main()
