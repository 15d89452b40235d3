"""deliver() returns only once the message is stored: a SIGKILL right after loses nothing.

A child process delivers messages from ten concurrent tasks and prints "delivered N" each time
deliver() returns; the parent kills it with SIGKILL mid-stream and then looks for every reported
message. A killed process keeps whatever it handed to the kernel, so this checks the ordering
(nothing is reported before it was written, flushed, renamed into new/ and flushed again), not
that the disk cache reached the platters: only a power cut could test that, and no test here
can cut power.
"""

from __future__ import annotations

import mailbox
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Final

import pytest

from reference_server.storage.api import FLUSH_METHODS

REPOSITORY: Final = Path(__file__).resolve().parents[3]
WANTED_REPORTS: Final = 60
CHILD_LIFETIME_SECONDS: Final = 30  # the child stops by itself even if the parent never kills it
REPORT: Final = re.compile(rb"delivered (\d+)\n")

CHILD: Final = f"""
import asyncio, itertools, sys, time
from pathlib import Path
from reference_server.storage.store import MaildirStore

store = MaildirStore(Path(sys.argv[1]), flush=sys.argv[2])
numbers = itertools.count()
deadline = time.monotonic() + {CHILD_LIFETIME_SECONDS}

async def sender(recipients):
    while time.monotonic() < deadline:
        number = next(numbers)
        message = store.open_incoming()
        message.write(b"Subject: %d\\r\\n\\r\\n" % number)
        message.write(b"body of message %d\\r\\n" % number)
        await store.deliver(message, recipients, b"X-Number: %d\\r\\n" % number)
        print("delivered", number, flush=True)

async def main():
    await asyncio.gather(*(sender(["alice", "bob"] if task % 2 else ["alice"]) for task in range(10)))

asyncio.run(main())
"""


def _expected(number: int) -> bytes:
    return b"X-Number: %d\r\nSubject: %d\r\n\r\nbody of message %d\r\n" % (number, number, number)


@pytest.mark.parametrize("flush", FLUSH_METHODS)
def test_every_reported_delivery_survives_sigkill(tmp_path: Path, flush: str) -> None:
    environment = dict(os.environ, PYTHONPATH=str(REPOSITORY))
    reported: list[int] = []
    with subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path), flush],
        stdout=subprocess.PIPE,
        env=environment,
        cwd=REPOSITORY,
    ) as child:
        assert child.stdout is not None
        deadline = time.monotonic() + CHILD_LIFETIME_SECONDS
        while len(reported) < WANTED_REPORTS and time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            complete = REPORT.fullmatch(line)
            assert complete is not None, line
            reported.append(int(complete.group(1)))
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        for line in child.stdout:  # reports already in the pipe count too, unless cut by the kill
            complete = REPORT.fullmatch(line)
            if complete is not None:
                reported.append(int(complete.group(1)))
    assert child.returncode == -signal.SIGKILL
    assert len(reported) >= WANTED_REPORTS

    alice = mailbox.Maildir(tmp_path / "users/alice/Maildir", factory=None, create=False)
    stored = {alice.get_bytes(key) for key in alice.iterkeys()}
    missing = [number for number in reported if _expected(number) not in stored]
    assert missing == []
    bob = mailbox.Maildir(tmp_path / "users/bob/Maildir", factory=None, create=False)
    bob_stored = {bob.get_bytes(key) for key in bob.iterkeys()}
    assert bob_stored <= stored  # bob's copies are links of alice's: never one without the other
