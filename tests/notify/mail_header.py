#!/usr/bin/env python3
"""mail_header.py - prints one header of a message as a mail reader would show it

Usage: mail_header.py FILE NAME

Parses FILE with Python's email package (its default policy: RFC 5322, with
RFC 2047 encoded-words decoded and folded lines unfolded) and prints the
value of the header NAME on one line; exits 1 when there is no such header.
test_notify checks with it what its own encoder wrote.
"""
import email.policy
import sys
from email.parser import BytesParser


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: mail_header.py FILE NAME")
    with open(sys.argv[1], "rb") as f:
        message = BytesParser(policy=email.policy.default).parse(f)
    value = message[sys.argv[2]]
    if value is None:
        sys.exit(1)
    sys.stdout.buffer.write(str(value).encode("utf-8") + b"\n")


if __name__ == "__main__":
    main()
