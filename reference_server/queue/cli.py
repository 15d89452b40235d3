"""`mailconform queue`: list the outgoing queue of a mail root, or ask the running server to retry now.

Listing only reads the spool (it never repairs or removes anything, so it is safe beside a
running server). `--flush` signals the server whose pid is in <mail_root>/queue/server.pid
with SIGUSR1; the server makes every queued entry due at once. Exit codes: 0 done, 1 no
server to flush, 2 a usage problem (bad config, no such mail root) -- each told in one line.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from reference_server.config import ConfigError, load_config
from reference_server.queue.spool import QueueEntry, Spool

EXIT_OK: Final = 0
EXIT_NO_SERVER: Final = 1
EXIT_USAGE: Final = 2
PROGRAM: Final = "mailconform queue"


class _Usage(Exception):
    """A problem with what the user asked; str() is the one line to print."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM, description="List the reference server's outgoing queue, or make it retry now."
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--config", type=Path, help="the server's TOML configuration (its [server] mail_root)")
    where.add_argument("--mail-root", type=Path, help="the server's mail root")
    parser.add_argument("--flush", action="store_true", help="ask the running server to retry every entry now")
    parser.add_argument("--json", action="store_true", help="print the queue as JSON")
    return parser


def _mail_root(args: argparse.Namespace) -> Path:
    if args.mail_root is not None:
        root = Path(args.mail_root)
    elif args.config is not None:
        try:
            config = load_config(args.config)
        except ConfigError as exc:
            raise _Usage(str(exc)) from None
        if config.mail_root is None:
            raise _Usage(f"{args.config}: [server] mail_root is not set; give --mail-root")
        root = config.mail_root
    else:
        raise _Usage("give --mail-root DIR or --config FILE")
    if not root.is_dir():
        raise _Usage(f"{root}: no such mail root")
    return root


def duration(seconds: float) -> str:
    """A short human duration: 45s, 12m, 3h, 2d."""
    seconds = max(seconds, 0.0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def _entry_json(entry: QueueEntry, now: float) -> dict[str, object]:
    data = entry.to_json()
    data.pop("version", None)
    data["age"] = round(now - entry.created, 3)
    data["next_try_in"] = round(entry.next_try - now, 3) if not entry.finished else None
    return data


def _last_error(recipient_code: int | None, enhanced: str | None, text: str, remote: str | None) -> str:
    if recipient_code is None and not text:
        return "-"
    reply = " ".join(part for part in (str(recipient_code) if recipient_code else "", enhanced or "", text) if part)
    return f"{reply} ({remote})" if remote else reply


def _print_listing(entries: Sequence[QueueEntry], corrupt: Sequence[str], now: float) -> None:
    for problem in corrupt:
        print(f"corrupt state file: {problem}")
    if not entries:
        print("The queue is empty.")
        return
    for entry in entries:
        sender = f"<{entry.reverse_path}>"
        kind = " (notification)" if entry.is_notification else ""
        print(f"{entry.id}  age {duration(now - entry.created)}  {entry.size} octets  from {sender}{kind}")
        next_try = f"next try in {duration(entry.next_try - now)}" if entry.next_try > now else "due now"
        for recipient in entry.recipients:
            error = _last_error(recipient.code, recipient.enhanced, recipient.text, recipient.remote)
            when = f"  {next_try}" if recipient.pending else ""
            print(f"    <{recipient.address}>  {recipient.status}  attempts {entry.attempts}  last: {error}{when}")
    print(f"{len(entries)} {'entry' if len(entries) == 1 else 'entries'}")


def server_pid(spool: Spool) -> int | None:
    """The pid of the `serve` process that owns this mail root, if it is still running."""
    try:
        pid = int(spool.pid_file.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None  # a stale pid file (the server was killed)
    except PermissionError:
        pass  # running, under another user
    command = Path(f"/proc/{pid}/cmdline")  # Linux: the argument vector, NUL-separated
    # A reused pid must not get a SIGUSR1 (whose default action would terminate it).
    try:
        arguments = command.read_bytes().split(b"\0")
    except OSError:
        return pid  # no /proc here: trust the pid file
    if b"serve" not in arguments:
        return None
    return pid


def queue_main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    try:
        root = _mail_root(args)
    except _Usage as exc:
        print(f"{PROGRAM}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    spool = Spool(root, create=False)
    if args.flush:
        pid = server_pid(spool)
        if pid is None:
            print(f"{PROGRAM}: no running server for {root} (no live pid in {spool.pid_file})", file=sys.stderr)
            return EXIT_NO_SERVER
        os.kill(pid, signal.SIGUSR1)
        print(f"flush requested: server pid {pid} retries every queued message now")
        return EXIT_OK
    loaded = spool.load(repair=False)
    now = time.time()
    if args.json:
        print(
            json.dumps(
                {"entries": [_entry_json(e, now) for e in loaded.entries], "corrupt": list(loaded.corrupt)}, indent=2
            )
        )
    else:
        _print_listing(loaded.entries, loaded.corrupt, now)
    return EXIT_OK
