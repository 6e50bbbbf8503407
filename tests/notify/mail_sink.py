"""mail_sink.py - an aiosmtpd handler for test_notify that keeps each message as a file

With aiosmtpd's own command line:

    python3 -m aiosmtpd -n -l 127.0.0.1:PORT -c mail_sink.Sink DIR

(run from this folder), or with smtp_receiver.py, which picks the port.
A message is kept as DIR/RCPT.eml (its bytes as the relay received them,
dot-stuffing undone) and DIR/RCPT.env (MAIL FROM:<...>, then RCPT TO:<...>
for each recipient), RCPT being its first recipient; both are in place
before the relay answers the DATA. A recipient whose address starts with
"refused" is refused with 550.
"""
import os


def write_atomically(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


class Sink:
    def __init__(self, directory):
        self.directory = directory

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) != 1:
            parser.error("mail_sink.Sink takes one argument: the folder for the messages")
        return cls(args[0])

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refused"):
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        name = envelope.rcpt_tos[0].replace("/", "_")
        env = f"MAIL FROM:<{envelope.mail_from}>\n"
        env += "".join(f"RCPT TO:<{rcpt}>\n" for rcpt in envelope.rcpt_tos)
        base = os.path.join(self.directory, name)
        write_atomically(base + ".eml", envelope.original_content)
        write_atomically(base + ".env", env.encode("utf-8", "surrogateescape"))
        return "250 2.0.0 Message accepted"
