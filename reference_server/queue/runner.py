"""The queue runner: hands queued messages to their next hops, retries, gives up, notifies.

One asyncio task owned by the server. It keeps the entries of the spool in memory and, for
each entry that is due, groups the pending recipients by next hop and makes one delivery
attempt per group (`send_message`, at most `concurrency` in flight across the server). Each
recipient's result is recorded durably right after its attempt:

- 2yz: delivered;
- 5yz: failed (RFC 5321 §4.2.1: do not repeat the request);
- 4yz or no reply: still pending, tried again after ``retry_initial * 2**(attempts - 1)``
  seconds, at most ``retry_max`` (RFC 5321 §4.5.4.1 asks for retries spaced at least 30
  minutes apart in real use; tests use fractions of a second); past ``lifetime`` failed.

When every recipient of an entry is final the entry leaves the queue, and if some of them
failed the sender gets ONE delivery status notification listing all of them (RFC 5321 §6.1,
§3.7), sent with the null reverse-path (§4.5.5) -- and none at all when the message itself
had the null reverse-path, so that notifications can never loop. A notification for a local
address is stored straight into that user's INBOX; one for a remote address is queued like
any other message.

Messages accepted by an SMTP session are enqueued *held*: they become visible to the runner
only when the session has also finished its local deliveries and is about to say 250
(`release`); if that fails the entry is removed again (`cancel`) and the client gets a 451,
so nothing half-accepted is ever sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from email.utils import format_datetime
from typing import Final, Protocol, runtime_checkable

from reference_server.accounts import POSTMASTER, Accounts
from reference_server.config import ServerConfig
from reference_server.faults import NO_FAULTS, Faults
from reference_server.queue.client import (
    AttemptResult,
    ClientSettings,
    OutgoingMessage,
    RecipientResult,
    send_message,
)
from reference_server.queue.dsn import FailedRecipient, build_notification
from reference_server.queue.routes import NextHop, RouteFailure, Router
from reference_server.queue.spool import DELIVERED, FAILED, PENDING, QueueEntry, RecipientState, Spool, new_entry_id
from reference_server.storage.api import IncomingMessage, MailStore, StorageError

log = logging.getLogger(__name__)

FAILURE_PAUSE: Final = 5.0  # seconds before an entry whose processing crashed is looked at again

Sender = Callable[[str, int, OutgoingMessage, ClientSettings], Awaitable[AttemptResult]]


@runtime_checkable
class CopyableMessage(Protocol):
    """A received message that can be copied into the queue without being consumed."""

    def copy_to(self, fd: int) -> None: ...


@dataclass(frozen=True)
class RunnerSettings:
    """Retry policy and client settings, from the [relay] configuration."""

    hostname: str
    client: ClientSettings
    retry_initial: float = 60.0
    retry_max: float = 3600.0
    lifetime: float = 432000.0
    concurrency: int = 10
    faults: Faults = NO_FAULTS

    @classmethod
    def from_config(cls, config: ServerConfig, faults: Faults = NO_FAULTS) -> RunnerSettings:
        relay = config.relay
        client = ClientSettings(
            helo_name=config.hostname,
            tls=relay.tls,
            connect_timeout=relay.connect_timeout,
            command_timeout=relay.command_timeout,
            faults=faults,
        )
        return cls(
            hostname=config.hostname,
            client=client,
            retry_initial=relay.retry_initial,
            retry_max=relay.retry_max,
            lifetime=relay.lifetime,
            concurrency=relay.concurrency,
            faults=faults,
        )

    def retry_delay(self, attempts: int) -> float:
        """Exponential backoff after the `attempts`-th attempt, capped."""
        return float(min(self.retry_initial * 2 ** max(attempts - 1, 0), self.retry_max))


def _domain(address: str) -> str:
    return address.rpartition("@")[2]


class QueueRunner:
    """The outgoing queue of one server: enqueue from SMTP sessions, deliver in the background."""

    def __init__(
        self,
        spool: Spool,
        router: Router,
        store: MailStore,
        accounts: Accounts,
        settings: RunnerSettings,
        *,
        send: Sender = send_message,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.spool = spool
        self.router = router
        self._store = store
        self._accounts = accounts
        self.settings = settings
        self._faults = settings.faults
        self._send = send
        self._clock = clock
        self._entries: dict[str, QueueEntry] = {}
        self._held: dict[str, QueueEntry] = {}
        self._busy: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._write_locks: dict[str, asyncio.Lock] = {}
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._wake = asyncio.Event()
        self._main: asyncio.Task[None] | None = None

    # --- what the server and its sessions call --------------------------------------------

    @property
    def entries(self) -> tuple[QueueEntry, ...]:
        """The entries the runner is working on (released ones), oldest first."""
        return tuple(sorted(self._entries.values(), key=lambda e: (e.created, e.id)))

    async def start(self) -> None:
        """Load the spool (removing unfinished and moving corrupt entries aside) and start working."""
        loaded = await asyncio.to_thread(self.spool.load)
        for entry in loaded.entries:
            self._entries[entry.id] = entry
        if loaded.entries:
            log.info("queue: %d entries loaded from %s", len(loaded.entries), self.spool.directory)
        self._main = asyncio.get_running_loop().create_task(self._run(), name="queue-runner")

    async def stop(self) -> None:
        """Stop at once: attempts in flight are cancelled and their recipients stay pending on disk."""
        tasks = [task for task in (self._main, *self._tasks) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._main = None
        self._tasks.clear()
        self._busy.clear()

    def flush(self) -> None:
        """Make every pending entry due now (`mailconform queue --flush`, SIGUSR1)."""
        now = self._clock()
        for entry_id, entry in self._entries.items():
            if entry_id not in self._busy and entry.next_try > now:
                self._entries[entry_id] = replace(entry, next_try=now)
        log.info("queue: flush requested (%d entries)", len(self._entries))
        self._wake.set()

    async def enqueue(
        self,
        message: IncomingMessage,
        *,
        reverse_path: str,
        recipients: Sequence[str],
        prefix: bytes,
        eight_bit: bool,
        smtputf8: bool,
        entry_id: str | None = None,
    ) -> str:
        """Spool `prefix` + the message durably, held until `release`; the message stays unconsumed."""
        if not isinstance(message, CopyableMessage):
            raise StorageError("this store's messages cannot be copied into the queue")
        entry = await asyncio.to_thread(
            self.spool.enqueue,
            reverse_path=reverse_path,
            recipients=recipients,
            body=message.copy_to,
            prefix=prefix,
            eight_bit=eight_bit,
            smtputf8=smtputf8,
            entry_id=entry_id,
            now=self._clock(),
        )
        self._held[entry.id] = entry
        return entry.id

    def release(self, entry_id: str) -> None:
        """The client is being told 250: deliver the entry."""
        entry = self._held.pop(entry_id, None)
        if entry is not None:
            self._entries[entry_id] = entry
            self._wake.set()

    async def cancel(self, entry_id: str) -> None:
        """The transaction failed after the enqueue (no 250 will be sent): remove the entry."""
        self._held.pop(entry_id, None)
        await asyncio.to_thread(self.spool.remove, entry_id)

    # --- the loop ------------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            now = self._clock()
            for entry in list(self._entries.values()):
                if entry.id not in self._busy and entry.next_try <= now:
                    self._start(entry.id)
            waits = [e.next_try for e in self._entries.values() if e.id not in self._busy]
            timeout = max(min(waits) - self._clock(), 0.0) if waits else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    def _start(self, entry_id: str) -> None:
        self._busy.add(entry_id)
        task = asyncio.get_running_loop().create_task(self._process(entry_id), name=f"queue-{entry_id}")
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._finished_task(entry_id, done))

    def _finished_task(self, entry_id: str, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._busy.discard(entry_id)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("queue %s: processing failed: %r; trying again later", entry_id, error)
            entry = self._entries.get(entry_id)
            if entry is not None:
                self._entries[entry_id] = replace(entry, next_try=self._clock() + FAILURE_PAUSE)
        self._wake.set()

    async def _process(self, entry_id: str) -> None:
        """One round for one entry: every pending recipient gets one attempt (or a route failure)."""
        entry = self._entries[entry_id]
        now = self._clock()
        entry = self._entries[entry_id] = replace(entry, attempts=entry.attempts + 1, last_attempt=now)
        groups: dict[tuple[NextHop, ...], list[str]] = {}
        unroutable: list[RecipientResult] = []
        hops_of: dict[str, tuple[NextHop, ...] | RouteFailure] = {}
        for address in entry.pending:
            domain = _domain(address).lower()
            if domain not in hops_of:
                try:
                    hops_of[domain] = await self.router.next_hops(domain)
                except RouteFailure as failure:
                    hops_of[domain] = failure
            hops = hops_of[domain]
            if isinstance(hops, RouteFailure):
                unroutable.append(RecipientResult(address, hops.code, hops.enhanced, hops.text))
                log.info("queue %s: %s: no route: %s", entry_id, address, hops)
            else:
                groups.setdefault(hops, []).append(address)
        if unroutable:
            await self._record(entry_id, None, unroutable)
        await asyncio.gather(*(self._deliver_group(entry_id, hops, tuple(rcpts)) for hops, rcpts in groups.items()))
        await self._conclude(entry_id)

    async def _deliver_group(self, entry_id: str, hops: tuple[NextHop, ...], recipients: tuple[str, ...]) -> None:
        """One attempt per next hop, moving on to the next (MX) host only when nothing got through."""
        entry = self._entries[entry_id]
        message = OutgoingMessage(
            reverse_path=entry.reverse_path,
            recipients=recipients,
            path=self.spool.message_path(entry_id),
            size=entry.size,
            eight_bit=entry.eight_bit,
            smtputf8=entry.smtputf8,
        )
        attempt: AttemptResult | None = None
        for hop in hops:
            async with self._slots:
                attempt = await self._send(hop.host, hop.port, message, self.settings.client)
            for result in attempt.results:
                log.info(
                    "queue %s: %s via %s: %s %s %s",
                    entry_id,
                    result.recipient,
                    attempt.remote,
                    result.code if result.code is not None else "-",
                    result.enhanced or "-",
                    result.text,
                )
            if not all(result.temporary for result in attempt.results):
                break  # RFC 5321 §5.1: try the next address only while nothing was accepted or refused
        assert attempt is not None
        await self._record(entry_id, attempt.remote, attempt.results)

    def _status(self, entry: QueueEntry, result: RecipientResult, now: float) -> str:
        if result.delivered:
            return DELIVERED
        if result.permanent:
            return FAILED
        if self._faults.on("relay.no-retry-on-4xx"):
            return FAILED
        if now - entry.created >= self.settings.lifetime:
            return FAILED  # RFC 5321 §4.5.4.1: give up after the configured lifetime
        return PENDING

    async def _record(self, entry_id: str, remote: str | None, results: Iterable[RecipientResult]) -> None:
        """Apply one attempt's results to the entry and write the new state before going on."""
        entry = self._entries[entry_id]
        now = self._clock()
        by_address = {result.recipient: result for result in results}
        recipients = []
        for recipient in entry.recipients:
            result = by_address.get(recipient.address)
            if result is None or not recipient.pending:
                recipients.append(recipient)
                continue
            recipients.append(
                RecipientState(
                    address=recipient.address,
                    status=self._status(entry, result, now),
                    code=result.code,
                    enhanced=result.enhanced,
                    text=result.text,
                    remote=remote,
                    last_attempt=now,
                )
            )
        entry = entry.with_recipients(recipients)
        if not entry.finished:
            give_up = entry.created + self.settings.lifetime
            entry = replace(entry, next_try=min(now + self.settings.retry_delay(entry.attempts), max(give_up, now)))
        self._entries[entry_id] = entry
        lock = self._write_locks.setdefault(entry_id, asyncio.Lock())
        async with lock:
            current = self._entries.get(entry_id)
            if current is not None:
                await asyncio.to_thread(self.spool.update, current)

    async def _conclude(self, entry_id: str) -> None:
        """An entry with every recipient final: notify the sender of failures, then forget it."""
        entry = self._entries[entry_id]
        if not entry.finished and entry.next_try <= self._clock():
            # Every pending recipient gets a result each round, so this is only a safety net
            # against retrying in a tight loop.
            entry = self._entries[entry_id] = replace(entry, next_try=self._clock() + self.settings.retry_delay(1))
        if not entry.finished:
            log.info(
                "queue %s: %d pending, next try in %.1f s", entry_id, len(entry.pending), entry.next_try - self._clock()
            )
            return
        failed = entry.failed
        if self._faults.on("relay.no-bounce-on-5xx"):
            failed = tuple(r for r in failed if not (r.code is not None and 500 <= r.code < 600))
        if failed:
            await self._notify(entry, failed)
        await asyncio.to_thread(self.spool.remove, entry_id)
        self._entries.pop(entry_id, None)
        self._write_locks.pop(entry_id, None)
        log.info(
            "queue %s: done (%d delivered, %d failed)",
            entry_id,
            len(entry.recipients) - len(entry.failed),
            len(entry.failed),
        )

    # --- notifications ---------------------------------------------------------------------------

    async def _notify(self, entry: QueueEntry, failed: Sequence[RecipientState]) -> None:
        """ONE notification for all failed recipients of the entry (RFC 5321 §6.1)."""
        recipient = entry.reverse_path
        if not recipient:
            if not self._faults.on("relay.bounce-to-null-sender"):
                log.info("queue %s: no notification: the reverse-path is null (RFC 5321 §6.1)", entry.id)
                return
            postmaster = self._accounts.postmaster
            if postmaster is None:
                return
            recipient = f"{POSTMASTER}@{sorted(self._accounts.domains)[0]}"
        sender = f"{POSTMASTER}@{self.settings.hostname}" if self._faults.on("relay.bounce-with-sender") else ""
        header = await asyncio.to_thread(self.spool.read_header, entry.id)
        now = datetime.now().astimezone()
        data = build_notification(
            hostname=self.settings.hostname,
            to=recipient,
            original_header=header,
            arrival=datetime.fromtimestamp(entry.created).astimezone(),
            failed=[
                FailedRecipient(
                    r.address,
                    r.code,
                    r.enhanced,
                    r.text,
                    r.remote,
                    datetime.fromtimestamp(r.last_attempt).astimezone() if r.last_attempt is not None else None,
                )
                for r in failed
            ],
            now=now,
        )
        login = self._local_login(recipient)
        if login is not None:
            await self._store_locally(login, sender, data, now)
            log.info("queue %s: notification stored for %s (%d failed)", entry.id, login, len(failed))
            return
        if self._accounts.is_local_domain(_domain(recipient)):
            log.warning("queue %s: notification dropped: %s is no local mailbox", entry.id, recipient)
            return
        if not self.router.has_route(_domain(recipient)):
            log.warning("queue %s: notification dropped: no route to %s", entry.id, recipient)
            return
        notification = await asyncio.to_thread(
            self.spool.enqueue,
            reverse_path=sender,
            recipients=(recipient,),
            body=data,
            eight_bit=not data.isascii(),
            smtputf8=not recipient.isascii(),
            is_notification=True,
            now=self._clock(),
        )
        self._entries[notification.id] = notification
        self._wake.set()
        log.info("queue %s: notification queued as %s for %s", entry.id, notification.id, recipient)

    def _local_login(self, address: str) -> str | None:
        local, _, domain = address.rpartition("@")
        if not local or not self._accounts.is_local_domain(domain):
            return None
        account = self._accounts.by_address(local, domain)
        return account.login if account is not None else None

    async def _store_locally(self, login: str, sender: str, data: bytes, now: datetime) -> None:
        """Final delivery here: Return-Path: and our Received: on top (RFC 5321 §4.4)."""
        queue_id = new_entry_id()
        prefix = (
            f"Return-Path: <{sender}>\r\n"
            f"Received: from {self.settings.hostname}\r\n\tby {self.settings.hostname} id {queue_id};\r\n"
            f"\t{format_datetime(now)}\r\n"
        ).encode()
        message = self._store.open_incoming()
        try:
            message.write(data)
        except BaseException:
            message.discard()
            raise
        await self._store.deliver(message, [login], prefix)
