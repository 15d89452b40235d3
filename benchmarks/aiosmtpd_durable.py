"""The baseline: aiosmtpd with a handler that has each message on disk before it answers 250.

RFC 5321 §6.1 makes "250 OK" after the data a promise to deliver; a comparison with a server that
answers before the message is on stable storage would measure a broken promise. So the handler
does what a careful Maildir delivery agent does, one message at a time: write the file under
tmp/, fsync it, rename it into new/, fsync new/ (the rename is durable only once the directory
is), and only then return "250 OK".

The disk work runs on the event loop's default thread pool, so concurrent sessions overlap their
fsyncs instead of queueing behind one another: the strongest baseline one gets without changing
aiosmtpd, and still one fsync pair per message (no batching across messages).

    python -m benchmarks.aiosmtpd_durable --port 2526 --maildir /var/tmp/bench-maildir

``--port 0`` takes any free port; ``--ready-file F`` then says which, in the same JSON shape the
reference server writes ({"pid": ..., "listeners": {"smtp": {"host": ..., "port": ...}}}).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from aiosmtpd.smtp import SMTP, Envelope, Session

logger = logging.getLogger(__name__)

LISTEN_HOST: Final = "127.0.0.1"
SERVER_NAME: Final = "aiosmtpd-durable.localhost"  # fixed: aiosmtpd's default asks the resolver for an FQDN
MAX_MESSAGE_OCTETS: Final = 1 << 27  # above aiosmtpd's 32 MiB default, so the 50 MiB memory check can run
DEFAULT_MAX_SECONDS: Final = 3600.0  # the server stops by itself even if nobody sends SIGTERM
FILE_MODE: Final = 0o600
MAILDIR_SUBDIRECTORIES: Final = ("tmp", "new", "cur")

S250_OK: Final = "250 OK"
S451_LOCAL_ERROR: Final = "451 4.3.0 Requested action aborted: local error in processing"  # RFC 5321 §4.2.3


def fsync_directory(directory: Path) -> None:
    """Make the entries of ``directory`` (a new name, a rename) survive a crash."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def create_maildir(root: Path) -> None:
    """tmp/, new/ and cur/ under ``root``; all three must exist before the first delivery."""
    for name in MAILDIR_SUBDIRECTORIES:
        (root / name).mkdir(parents=True, exist_ok=True)
    fsync_directory(root)


class DurableMaildirHandler:
    """aiosmtpd handler: store each message in a Maildir, durably, before accepting it."""

    def __init__(self, maildir: Path) -> None:
        self.maildir = maildir
        self._counter = itertools.count()  # next() on a count is atomic under the GIL
        self._host = socket.gethostname().replace("/", "\\057").replace(":", "\\072")

    def unique_name(self) -> str:
        """time.MusecPpidQn.host: the usual Maildir shape, unique per process by the counter."""
        now = time.time()
        seconds = int(now)
        return f"{seconds}.M{int((now - seconds) * 1e6)}P{os.getpid()}Q{next(self._counter)}.{self._host}"

    def store(self, content: bytes) -> Path:
        """Write, fsync, rename into new/, fsync new/; blocking, so it runs in a worker thread."""
        name = self.unique_name()
        scratch = self.maildir / "tmp" / name
        final = self.maildir / "new" / name
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
        try:
            view = memoryview(content)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            scratch.unlink(missing_ok=True)
            raise
        os.close(fd)
        os.rename(scratch, final)
        fsync_directory(final.parent)
        return final

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content
        if content is None:
            return S451_LOCAL_ERROR
        try:
            await asyncio.get_running_loop().run_in_executor(None, self.store, content)
        except OSError:
            logger.exception("storing a message failed; the client is told to retry")
            return S451_LOCAL_ERROR
        return S250_OK


def write_ready_file(path: Path, port: int) -> None:
    """Publish the port atomically: a reader polling for the file never sees half of it."""
    scratch = path.with_name(path.name + ".tmp")
    ready = {"pid": os.getpid(), "listeners": {"smtp": {"host": LISTEN_HOST, "port": port, "tls": "none"}}}
    scratch.write_text(json.dumps(ready))
    scratch.rename(path)


async def serve(port: int, maildir: Path, ready_file: Path | None, max_seconds: float) -> None:
    """Listen on loopback until SIGTERM/SIGINT or ``max_seconds``, whichever comes first."""
    create_maildir(maildir)
    loop = asyncio.get_running_loop()
    handler = DurableMaildirHandler(maildir)
    server = await loop.create_server(
        lambda: SMTP(handler, hostname=SERVER_NAME, data_size_limit=MAX_MESSAGE_OCTETS, loop=loop),
        LISTEN_HOST,
        port,
    )
    bound_port = int(server.sockets[0].getsockname()[1])
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    if ready_file is not None:
        write_ready_file(ready_file, bound_port)
    logger.info("listening on %s:%d, delivering to %s", LISTEN_HOST, bound_port, maildir)
    try:
        async with asyncio.timeout(max_seconds):
            await stop.wait()
    except TimeoutError:
        logger.warning("stopping after %g s without a signal", max_seconds)
    finally:
        server.close()
        await server.wait_closed()
        if ready_file is not None:
            ready_file.unlink(missing_ok=True)


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.aiosmtpd_durable", description="aiosmtpd writing fsync'd Maildir files."
    )
    parser.add_argument("--port", type=int, required=True, help="loopback port; 0 for any free one")
    parser.add_argument("--maildir", type=Path, required=True, help="Maildir to deliver into (created)")
    parser.add_argument("--ready-file", type=Path, help="write the bound port here as JSON once listening")
    parser.add_argument("--max-seconds", type=float, default=DEFAULT_MAX_SECONDS, help="stop after this long")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _arguments(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    asyncio.run(serve(arguments.port, arguments.maildir, arguments.ready_file, arguments.max_seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
