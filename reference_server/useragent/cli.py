"""`mailconform mail send|list|read|fetch`: the user agent's command line.

Options become a Draft, ServerSettings and Credentials here; the work is done by
compose, submit, retrieve and local. Every failure ends as lines starting with
"mailconform mail: " on stderr and an exit code from errors.py; a traceback would be a
bug, so one last-resort handler reports anything unexpected the same way.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final, TextIO

from reference_server.useragent import inputs
from reference_server.useragent.compose import Draft, as_bytes, compose
from reference_server.useragent.connect import (
    DEFAULT_TIMEOUT,
    TLS_MODES,
    ServerSettings,
    TlsMode,
    client_context,
    parse_address,
    printable,
)
from reference_server.useragent.display import (
    SHOWN_HEADERS,
    ListEntry,
    attachment_lines,
    attachments,
    body_text,
    format_listing,
    header_text,
    html_to_text,
    parse_message,
)
from reference_server.useragent.errors import (
    EXIT_AUTH,
    EXIT_CONNECT,
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_REFUSED,
    EXIT_TLS,
    EXIT_USAGE,
    UsageError,
    UserAgentError,
)
from reference_server.useragent.local import MaildirSink, save_attachments
from reference_server.useragent.retrieve import Credentials, open_mailbox
from reference_server.useragent.submit import submit

PROG: Final = "mailconform mail"
EXIT_INTERRUPTED: Final = 130
# Ports when only HOST is given: RFC 6409 §3.1 (587), RFC 1939 §3 (110), RFC 8314 §7.1 and §7.3 (995, 465).
SUBMISSION_PORTS: Final[dict[str, int]] = {"starttls": 587, "implicit": 465, "none": 587}
POP3_PORTS: Final[dict[str, int]] = {"starttls": 110, "implicit": 995, "none": 110}

EXIT_CODES_HELP: Final = f"""\
exit codes:
  {EXIT_OK}  done
  {EXIT_FAILURE}  another failure (a local file could not be written, the editor failed, an unexpected reply)
  {EXIT_USAGE}  bad options or input: an unknown flag, a bad address, a file that does not exist
  {EXIT_CONNECT}  the server cannot be reached, or the connection broke
  {EXIT_TLS}  TLS failed: not offered, handshake or certificate problem
  {EXIT_AUTH}  the server refused the login
  {EXIT_REFUSED}  the server refused the request: the sender, every recipient, the message, a message number
  {EXIT_PARTIAL}  the message went to some recipients only (the others are named)
"""

DESCRIPTION: Final = """\
A small user agent: compose a message and submit it (RFC 6409, STARTTLS and AUTH),
list and read a mailbox, download it into a Maildir. POP3 (RFC 1939) is the only
access protocol for now; IMAP is not built yet.

The password comes from --password-file, else $MAILCONFORM_PASSWORD, else a prompt on
the terminal. TLS is required unless --tls none is given: a server that does not offer
STARTTLS/STLS is an error, never a reason to send the password in clear.
"""


def _connection_options(parser: argparse.ArgumentParser, *, user_required: bool) -> None:
    group = parser.add_argument_group("connection")
    group.add_argument("--user", required=user_required, metavar="LOGIN", help="login name")
    group.add_argument(
        "--password-file", type=Path, metavar="FILE", help="read the password from the first line of FILE"
    )
    group.add_argument(
        "--tls",
        choices=TLS_MODES,
        default="starttls",
        help="starttls (default): upgrade on the plain port; implicit: TLS from the first byte; "
        "none: no TLS at all, the password travels in clear",
    )
    trust = group.add_mutually_exclusive_group()
    trust.add_argument("--cafile", type=Path, metavar="PEM", help="trust the CAs in PEM instead of the system's")
    trust.add_argument("--insecure", action="store_true", help="do not verify the server's certificate")
    group.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS", help="per connection and reply"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=DESCRIPTION,
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{send,list,read,fetch}")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=EXIT_CODES_HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    send = command("send", "compose a message and submit it")
    send.add_argument(
        "--server", metavar="HOST[:PORT]", help="submission server (port 587, or 465 with --tls implicit)"
    )
    _connection_options(send, user_required=False)
    message = send.add_argument_group("message")
    message.add_argument("--from", dest="sender", required=True, metavar="ADDR", help="author and envelope sender")
    message.add_argument("--to", action="append", default=[], required=True, metavar="ADDR", help="repeatable")
    message.add_argument("--cc", action="append", default=[], metavar="ADDR", help="repeatable")
    message.add_argument(
        "--bcc", action="append", default=[], metavar="ADDR", help="repeatable; envelope only, never in a header"
    )
    message.add_argument("--subject", required=True, metavar="TEXT")
    body = message.add_mutually_exclusive_group()
    body.add_argument("--body", metavar="TEXT", help="the text (default: stdin when it is not a terminal)")
    body.add_argument("--body-file", type=Path, metavar="FILE", help="the text from a UTF-8 file")
    body.add_argument("--edit", action="store_true", help="write the text in $VISUAL or $EDITOR")
    message.add_argument(
        "--html", metavar="FILE_OR_TEXT", help="an HTML alternative (multipart/alternative); a file or the HTML itself"
    )
    message.add_argument("--attach", action="append", default=[], type=Path, metavar="FILE", help="repeatable")
    send.add_argument("--dry-run", action="store_true", help="print the message instead of sending it")

    listing = command("list", "list the messages in a mailbox: number, size, date, from, subject")
    listing.add_argument("--pop3", required=True, metavar="HOST[:PORT]", help="POP3 server (port 110, or 995)")
    _connection_options(listing, user_required=True)
    listing.add_argument("--uidl", action="store_true", help="show each message's unique-id")

    read = command("read", "show one message; it stays on the server unless --delete")
    read.add_argument("number", type=int, metavar="N", help="message number, as `list` shows it")
    read.add_argument("--pop3", required=True, metavar="HOST[:PORT]", help="POP3 server (port 110, or 995)")
    _connection_options(read, user_required=True)
    read.add_argument("--delete", action="store_true", help="download and delete (removed when the session ends)")
    read.add_argument("--raw", action="store_true", help="print the message exactly as retrieved")
    read.add_argument("--save", type=Path, metavar="DIR", help="write the attachments into DIR")

    fetch = command("fetch", "download every message into a local Maildir")
    fetch.add_argument("--pop3", required=True, metavar="HOST[:PORT]", help="POP3 server (port 110, or 995)")
    _connection_options(fetch, user_required=True)
    fetch.add_argument("--maildir", required=True, type=Path, metavar="DIR", help="created if missing")
    fetch.add_argument(
        "--delete", action="store_true", help="download and delete (default: keep, and skip what was fetched before)"
    )
    return parser


def _out(text: str, stream: TextIO | None = None) -> None:
    """Print, replacing what the terminal's encoding cannot show instead of failing on it."""
    target = sys.stdout if stream is None else stream
    try:
        print(text, file=target)
    except UnicodeEncodeError:
        encoding = target.encoding or "ascii"
        print(text.encode(encoding, "replace").decode(encoding), file=target)


def _server(args: argparse.Namespace, text: str, flag: str, ports: dict[str, int]) -> ServerSettings:
    tls: TlsMode = args.tls
    if args.timeout <= 0:
        raise UsageError(f"--timeout: must be above 0, got {args.timeout:g}")
    address = parse_address(text, ports[tls], flag)
    context = client_context(args.cafile, args.insecure) if tls != "none" else None
    # RFC 8314 §5.2: a user may turn the minimum confidentiality off, and must then be warned.
    if tls == "none":
        _out(f"{PROG}: warning: --tls none: the password and the mail travel in clear", sys.stderr)
    elif args.insecure:
        _out(
            f"{PROG}: warning: --insecure: the server's certificate is not checked; privacy is not assured", sys.stderr
        )
    return ServerSettings(address, tls, context, args.timeout)


def _credentials(args: argparse.Namespace) -> Credentials:
    return Credentials(args.user, inputs.password(args.user, args.password_file))


def _body(args: argparse.Namespace, html: str | None) -> str:
    if args.body is not None:
        return str(args.body)
    if args.body_file is not None:
        return inputs.body_from_file(args.body_file)
    if args.edit:
        return inputs.body_from_editor()
    if html is not None:
        return html_to_text(html)
    if sys.stdin is None or sys.stdin.isatty():
        raise UsageError("no body: give --body, --body-file or --edit, or pipe the text on stdin")
    return inputs.body_from_stream(sys.stdin)


def send_command(args: argparse.Namespace) -> int:
    if not args.dry_run and not args.server:
        raise UsageError("--server HOST[:PORT] is required (or --dry-run)")
    if args.password_file is not None and not args.user:
        raise UsageError("--password-file: give --user too (without it no login is attempted)")
    settings = _server(args, args.server, "--server", SUBMISSION_PORTS) if not args.dry_run else None
    html = inputs.html_from(args.html) if args.html is not None else None
    draft = Draft(
        sender=args.sender,
        to=args.to,
        cc=args.cc,
        bcc=args.bcc,
        subject=args.subject,
        body=_body(args, html),
        html=html,
        attachments=[inputs.attachment(path) for path in args.attach],
    )
    composed = compose(draft)
    if settings is None:
        sys.stdout.write(as_bytes(composed).decode("utf-8").replace("\r\n", "\n"))
        sys.stdout.flush()
        recipients = ", ".join(f"<{r}>" for r in composed.recipients)
        _out(f"{PROG}: dry run, not sent; envelope from <{composed.envelope_from}> to {recipients}", sys.stderr)
        return EXIT_OK
    credentials = _credentials(args) if args.user else None
    submitted = submit(composed, settings, credentials)
    _out(f"sent {submitted.message_id} to {', '.join(submitted.recipients)}")
    return EXIT_OK


def list_command(args: argparse.Namespace) -> int:
    settings = _server(args, args.pop3, "--pop3", POP3_PORTS)
    with open_mailbox(settings, _credentials(args)) as box:
        sizes = box.sizes()
        uids = (box.unique_ids() or {}) if args.uidl else {}
        entries = [ListEntry(s.number, s.size, box.headers(s.number), uids.get(s.number)) for s in sizes]
    if not entries:
        _out("no messages")
    for line in format_listing(entries, show_uid=args.uidl):
        _out(line)
    return EXIT_OK


def read_command(args: argparse.Namespace) -> int:
    if args.number < 1:
        raise UsageError(f"N: message numbers start at 1, got {args.number}")
    settings = _server(args, args.pop3, "--pop3", POP3_PORTS)
    with open_mailbox(settings, _credentials(args)) as box:
        raw = box.retrieve(args.number)
        _show(raw, args)  # shown and saved before DELE, so a failure here deletes nothing
        if args.delete:
            box.delete(args.number)
    if args.delete:
        _out(f"message {args.number} deleted from the server", sys.stderr)
    return EXIT_OK


def _show(raw: bytes, args: argparse.Namespace) -> None:
    message = parse_message(raw)
    found = attachments(message)
    if args.raw:
        sys.stdout.flush()
        sys.stdout.buffer.write(raw)
        sys.stdout.buffer.flush()
    else:
        for name in SHOWN_HEADERS:
            value = header_text(message, name)
            if value or name != "Cc":
                _out(f"{name}: {value}")
        _out("")
        sys.stdout.flush()
        _out(body_text(message).rstrip("\n"))
        if found:
            _out("")
            _out("Attachments:")
            for line in attachment_lines(found):
                _out(line)
    if args.save is not None:
        for path in save_attachments(found, args.save):
            _out(f"saved {printable(str(path))}", sys.stderr)


def fetch_command(args: argparse.Namespace) -> int:
    settings = _server(args, args.pop3, "--pop3", POP3_PORTS)
    sink = MaildirSink(args.maildir, account=f"{args.user}@{settings.address}")
    fetched = skipped = 0
    with open_mailbox(settings, _credentials(args)) as box:
        uids = box.unique_ids() or {}
        for entry in box.sizes():
            uid = uids.get(entry.number)
            if sink.already_fetched(uid):
                skipped += 1
            else:
                sink.add(box.retrieve(entry.number), uid)  # durable before DELE
                fetched += 1
            if args.delete:
                box.delete(entry.number)
    where = "deleted from the server" if args.delete else "kept on the server"
    extra = f", {skipped} fetched before" if skipped else ""
    _out(f"fetched {fetched} message{'s' if fetched != 1 else ''} into {args.maildir}{extra}; {where}")
    return EXIT_OK


COMMANDS: Final = {"send": send_command, "list": list_command, "read": read_command, "fetch": fetch_command}


def mail_main(argv: Sequence[str]) -> int:
    """Run one `mailconform mail` command; return its exit code (documented in --help)."""
    try:
        args = build_parser().parse_args(list(argv))
    except SystemExit as exit_:  # argparse: --help (0) or a usage error it has printed (2)
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    try:
        return COMMANDS[args.command](args)
    except UserAgentError as error:
        for line in str(error).splitlines():
            _out(f"{PROG}: {line}", sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        _out(f"{PROG}: interrupted", sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # the last resort: a bug must still be one line, not a traceback
        _out(f"{PROG}: internal error: {type(exc).__name__}: {exc}", sys.stderr)
        return EXIT_FAILURE
