"""Test helpers for the SMTP server: a Maildir-writing fake store and a server thread.

The fake implements the storage api.py Protocol with `mailbox.Maildir`, so delivered
messages can be read back with the standard library, independently of the real store.
"""

from __future__ import annotations

import asyncio
import mailbox
import os
import ssl
import tempfile
import threading
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Final, TypeVar

from reference_server.accounts import Account, Accounts, hash_password
from reference_server.sessions import SessionRegistry
from reference_server.smtp.server import SmtpServer, Timeouts
from reference_server.smtp.state import SessionSettings
from reference_server.storage.api import FolderSnapshot, StorageError

DOMAIN: Final = "example.test"
HOSTNAME: Final = "mail.example.test"
PASSWORDS: Final = {"alice": "alicepw", "bob": "bobpw"}
LOOP_CALL_TIMEOUT: Final = 15.0
T = TypeVar("T")


def config_head(hostname: str = HOSTNAME) -> str:
    """The start of a test configuration file: the domain, [server] and alice and bob.

    Their password hashes are left as `{alice}` and `{bob}` for str.format (see cheap_hashes);
    listeners and other tables follow.
    """
    accounts = "".join(
        f'[[accounts]]\nlogin = "{login}"\naddress = "{login}@{DOMAIN}"\npassword_hash = "{{{login}}}"\n\n'
        for login in PASSWORDS
    )
    return f'domains = ["{DOMAIN}"]\n\n[server]\nhostname = "{hostname}"\n\n{accounts}'


def cheap_hashes(passwords: Mapping[str, str] = PASSWORDS) -> dict[str, str]:
    """Password hashes with cheap scrypt parameters, so that tests stay fast."""
    return {login: hash_password(password, n=16, r=1, p=1) for login, password in passwords.items()}


def make_accounts() -> Accounts:
    """alice and bob, with cheap scrypt parameters so that tests stay fast."""
    accounts = [
        Account(login, (f"{login}@{DOMAIN}",), hash_password(password, n=16, r=1, p=1))
        for login, password in PASSWORDS.items()
    ]
    return Accounts(accounts, [DOMAIN])


class FakeIncoming:
    """A spool file in a temporary directory."""

    def __init__(self, directory: Path) -> None:
        fd, name = tempfile.mkstemp(dir=directory, prefix="spool-")
        self.path = Path(name)
        self._file: BinaryIO | None = os.fdopen(fd, "wb")
        self._size = 0

    @property
    def size(self) -> int:
        return self._size

    def write(self, chunk: bytes) -> None:
        assert self._file is not None, "write after discard/deliver"
        self._file.write(chunk)
        self._size += len(chunk)

    def discard(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self.path.unlink(missing_ok=True)

    def read_and_consume(self) -> bytes:
        assert self._file is not None
        self._file.close()
        self._file = None
        data = self.path.read_bytes()
        self.path.unlink()
        return data


@dataclass
class FakeStore:
    """Delivers into root/<user>/ (a Maildir) and records what it was asked to do."""

    root: Path
    fail_deliveries: bool = False
    deliveries: list[tuple[tuple[str, ...], bytes]] = field(default_factory=list)
    opened: list[FakeIncoming] = field(default_factory=list)

    def __post_init__(self) -> None:
        (self.root / "spool").mkdir(parents=True, exist_ok=True)

    def maildir(self, user: str) -> mailbox.Maildir:
        return mailbox.Maildir(self.root / user, create=True)

    def messages(self, user: str) -> list[bytes]:
        box = self.maildir(user)
        return [box.get_bytes(key) for key in sorted(box.keys())]

    def open_incoming(self) -> FakeIncoming:
        incoming = FakeIncoming(self.root / "spool")
        self.opened.append(incoming)
        return incoming

    async def deliver(self, message: object, users: Sequence[str], prefix: bytes, folder: str = "INBOX") -> None:
        assert isinstance(message, FakeIncoming)
        if self.fail_deliveries:
            raise StorageError("disk on fire (test)")
        data = message.read_and_consume()
        for user in users:
            self.maildir(user).add(prefix + data)
        self.deliveries.append((tuple(users), prefix))

    def ensure_user(self, user: str) -> None:
        self.maildir(user)

    def folders(self, user: str) -> list[str]:
        return ["INBOX"]

    def create_folder(self, user: str, name: str) -> None:
        raise NotImplementedError

    def delete_folder(self, user: str, name: str) -> None:
        raise NotImplementedError

    def rename_folder(self, user: str, old: str, new: str) -> None:
        raise NotImplementedError

    def snapshot(self, user: str, folder: str = "INBOX") -> FolderSnapshot:
        raise NotImplementedError

    def open_message(self, user: str, folder: str, uid: int) -> BinaryIO:
        raise NotImplementedError

    def set_flags(self, user: str, folder: str, uid: int, flags: frozenset[str]) -> None:
        raise NotImplementedError

    def append(self, user: str, folder: str, data: bytes, flags: frozenset[str], internal_date: datetime | None) -> int:
        raise NotImplementedError

    def expunge(self, user: str, folder: str, uids: Sequence[int]) -> None:
        raise NotImplementedError

    def open_spools(self) -> list[Path]:
        return sorted((self.root / "spool").iterdir())


class LoopThread:
    """An asyncio event loop in a daemon thread, so that blocking clients (smtplib, poplib) can
    talk to a server running in the same process."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.run_until_complete(self.loop.shutdown_default_executor())
        self.loop.close()

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run `coroutine` on the loop and wait for its result (at most LOOP_CALL_TIMEOUT seconds)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=LOOP_CALL_TIMEOUT)

    def start_loop(self) -> None:
        self.thread.start()

    def stop_loop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=LOOP_CALL_TIMEOUT)


class ServerThread(LoopThread):
    """An SmtpServer on its own event loop in a thread, for blocking clients (smtplib, sockets)."""

    def __init__(
        self,
        settings: SessionSettings,
        store: FakeStore,
        *,
        accounts: Accounts | None = None,
        ssl_context: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
        timeouts: Timeouts | None = None,
        max_sessions: int = 20,
    ) -> None:
        self.store = store
        self.registry = SessionRegistry(max_sessions)
        self.server = SmtpServer(
            settings,
            accounts or make_accounts(),
            store,
            self.registry,
            ssl_context=ssl_context,
            implicit_tls=implicit_tls,
            timeouts=timeouts,
        )
        super().__init__("smtp-test-server")
        self.port = 0

    def __enter__(self) -> ServerThread:
        self.start_loop()
        _, self.port = self.call(self.server.start("127.0.0.1", 0))
        return self

    def stop(self) -> None:
        async def shutdown() -> None:
            self.server.close()
            await self.registry.shutdown(grace=5)
            await self.server.wait_closed()

        if self.thread.is_alive():
            self.call(shutdown())
            self.stop_loop()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
