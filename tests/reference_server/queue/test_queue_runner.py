"""The queue runner against scripted next hops on 127.0.0.1: retries, bounces, routes and faults."""

from __future__ import annotations

import asyncio
import email.policy
import mailbox
import time
from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Final

import pytest

from reference_server.accounts import Account, Accounts, hash_password
from reference_server.faults import NO_FAULTS, Faults
from reference_server.queue.client import ClientSettings
from reference_server.queue.routes import Router
from reference_server.queue.runner import QueueRunner, RunnerSettings
from reference_server.queue.spool import Spool
from reference_server.storage.store import MaildirStore
from tests.reference_server.queue.queue_support import ScriptedHop, wait_until

HOSTNAME: Final = "crepes.fr"
MESSAGE: Final = (
    b"From: Alice <alice@crepes.fr>\r\nTo: Bob <bob@hamburger.edu>\r\nSubject: Lunch\r\n"
    b"Message-ID: <lunch-1@crepes.fr>\r\n\r\nSee you at noon.\r\n.A line with a leading dot.\r\n"
)
PREFIX: Final = (
    b"Received: from client ([127.0.0.1])\r\n\tby crepes.fr with ESMTPSA id Q1;\r\n\tMon, 1 Jan 2024 00:00:00 +0000\r\n"
)


class Setup:
    """A runner over a real Maildir store and spool in tmp_path, routed to scripted hops."""

    def __init__(
        self,
        root: Path,
        routes: dict[str, tuple[str, int]],
        *,
        faults: Faults = NO_FAULTS,
        retry_initial: float = 0.2,
        retry_max: float = 1.0,
        lifetime: float = 30.0,
        concurrency: int = 4,
    ) -> None:
        self.store = MaildirStore(root / "mail")
        cheap = hash_password("pw", n=16, r=1, p=1)
        self.accounts = Accounts(
            [
                Account("postmaster-box", ("postmaster@crepes.fr",), cheap),
                Account("alice", ("alice@crepes.fr",), cheap),
            ],
            [HOSTNAME],
        )
        for account in self.accounts.all:
            self.store.ensure_user(account.login)
        self.spool = Spool(root / "mail")
        client = ClientSettings(helo_name=HOSTNAME, tls="none", connect_timeout=2, command_timeout=3, data_timeout=3)
        settings = RunnerSettings(
            hostname=HOSTNAME,
            client=client,
            retry_initial=retry_initial,
            retry_max=retry_max,
            lifetime=lifetime,
            concurrency=concurrency,
            faults=faults,
        )
        self.runner = QueueRunner(self.spool, Router(routes), self.store, self.accounts, settings)

    async def submit(self, reverse_path: str, *recipients: str, body: bytes = MESSAGE) -> str:
        incoming = self.store.open_incoming()
        incoming.write(body)
        entry_id = await self.runner.enqueue(
            incoming,
            reverse_path=reverse_path,
            recipients=recipients,
            prefix=PREFIX,
            eight_bit=not body.isascii(),
            smtputf8=False,
        )
        incoming.discard()
        self.runner.release(entry_id)
        return entry_id

    def inbox(self, login: str) -> list[EmailMessage]:
        box = mailbox.Maildir(self.store.root / "users" / login / "Maildir", factory=None, create=False)
        parsed = []
        for key in box.iterkeys():
            message = BytesParser(policy=email.policy.default).parsebytes(box.get_bytes(key))
            assert isinstance(message, EmailMessage)
            parsed.append(message)
        return parsed

    def queue_files(self) -> list[str]:
        return sorted(p.name for p in self.spool.directory.iterdir() if p.is_file())


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), 30))


def status_fields(report: EmailMessage) -> list[dict[str, str]]:
    assert report.get_content_type() == "multipart/report"
    part = next(p for p in report.walk() if p.get_content_type() == "message/delivery-status")
    return [{k: str(v) for k, v in group.items()} for group in part.get_payload()]  # type: ignore[union-attr]


async def settle(setup: Setup, timeout: float = 10.0) -> None:
    """Until the queue is empty (every entry finished and removed)."""
    await wait_until(lambda: not setup.runner.entries and not setup.queue_files(), timeout, "an empty queue")


def test_451_then_250_is_delivered_once_after_a_retry(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with ScriptedHop({"bob@hamburger.edu": ["451 4.3.0 greylisted, try again"]}) as hop:
            setup = Setup(tmp_path, {"hamburger.edu": ("127.0.0.1", hop.port)})
            await setup.runner.start()
            try:
                await setup.submit("alice@crepes.fr", "bob@hamburger.edu")
                await wait_until(lambda: len(hop.messages) == 1, what="the retried delivery")
                await settle(setup)
            finally:
                await setup.runner.stop()
        assert [m.recipients for m in hop.messages] == [["bob@hamburger.edu"]]
        assert hop.messages[0].mail_from == "alice@crepes.fr"
        assert hop.messages[0].data == PREFIX + MESSAGE  # exactly what was queued, dot-stuffing undone
        attempts = [at for address, at in hop.rcpt_attempts if address == "bob@hamburger.edu"]
        assert len(attempts) == 2
        assert attempts[1] - attempts[0] >= 0.2 - 0.02  # retry_initial apart (loop clock slack)
        assert setup.inbox("alice") == []  # no notification for a message that got through

    run(scenario)


def test_550_sends_one_notification_to_the_local_sender(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with ScriptedHop(always={"bob@hamburger.edu": "550 5.1.1 no such user"}) as hop:
            setup = Setup(tmp_path, {"hamburger.edu": ("127.0.0.1", hop.port)})
            await setup.runner.start()
            try:
                await setup.submit("alice@crepes.fr", "bob@hamburger.edu", "carol@hamburger.edu")
                await settle(setup)
                await wait_until(lambda: len(setup.inbox("alice")) == 1, what="the notification")
            finally:
                await setup.runner.stop()
            [bounce] = setup.inbox("alice")
            assert bounce["Return-Path"] == "<>"  # delivered with the null reverse-path (RFC 5321 §4.5.5)
            assert bounce["Received"] is not None
            assert bounce["To"] == "alice@crepes.fr"
            per_message, bob = status_fields(bounce)
            assert per_message["Reporting-MTA"] == "dns; crepes.fr"
            assert bob["Final-Recipient"] == "rfc822; bob@hamburger.edu"
            assert (bob["Action"], bob["Status"]) == ("failed", "5.1.1")
            assert bob["Diagnostic-Code"] == "smtp; 550 5.1.1 no such user"
            headers = next(p for p in bounce.walk() if p.get_content_type() == "text/rfc822-headers")
            assert "Message-ID: <lunch-1@crepes.fr>" in headers.get_content()
            assert [m.recipients for m in hop.messages] == [["carol@hamburger.edu"]]  # the other one got through
            assert len([a for a, _ in hop.rcpt_attempts if a == "bob@hamburger.edu"]) == 1  # 5xx: never repeated

    run(scenario)


def test_null_reverse_path_failure_gets_no_notification(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with ScriptedHop(always={"bob@hamburger.edu": "550 5.1.1 no such user"}) as hop:
            setup = Setup(tmp_path, {"hamburger.edu": ("127.0.0.1", hop.port)})
            await setup.runner.start()
            try:
                await setup.submit("", "bob@hamburger.edu")
                await settle(setup)
                await asyncio.sleep(0.2)
            finally:
                await setup.runner.stop()
            assert hop.rcpt_attempts and not hop.messages
            assert setup.inbox("alice") == [] and setup.inbox("postmaster-box") == []

    run(scenario)


def test_lifetime_expiry_fails_the_recipient_and_notifies(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with ScriptedHop(always={"bob@hamburger.edu": "451 4.2.2 mailbox full"}) as hop:
            setup = Setup(tmp_path, {"hamburger.edu": ("127.0.0.1", hop.port)}, retry_initial=0.1, lifetime=0.6)
            await setup.runner.start()
            try:
                started = time.monotonic()
                await setup.submit("alice@crepes.fr", "bob@hamburger.edu")
                await wait_until(lambda: len(setup.inbox("alice")) == 1, what="the expiry notification")
                elapsed = time.monotonic() - started
                await settle(setup)
            finally:
                await setup.runner.stop()
            assert elapsed >= 0.6 - 0.05  # not given up before the lifetime
            assert len(hop.rcpt_attempts) >= 3  # retried meanwhile (0.1, 0.2, then capped by the lifetime)
            _, bob = status_fields(setup.inbox("alice")[0])
            assert (bob["Action"], bob["Status"]) == ("failed", "4.2.2")  # RFC 3464 §2.3.3: failed, 4.x.x
            assert bob["Diagnostic-Code"] == "smtp; 451 4.2.2 mailbox full"

    run(scenario)


def test_two_recipients_on_two_routes_each_get_their_copy(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with ScriptedHop() as hop1, ScriptedHop() as hop2:
            routes = {"hamburger.edu": ("127.0.0.1", hop1.port), "second.example": ("127.0.0.1", hop2.port)}
            setup = Setup(tmp_path, routes)
            await setup.runner.start()
            try:
                await setup.submit("alice@crepes.fr", "bob@hamburger.edu", "dave@second.example", "eve@hamburger.edu")
                await settle(setup)
            finally:
                await setup.runner.stop()
        assert [m.recipients for m in hop1.messages] == [["bob@hamburger.edu", "eve@hamburger.edu"]]
        assert [m.recipients for m in hop2.messages] == [["dave@second.example"]]
        assert hop1.messages[0].data == hop2.messages[0].data == PREFIX + MESSAGE

    run(scenario)


def test_unreachable_next_hop_is_retried_then_delivered(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with ScriptedHop() as placeholder:
            port = placeholder.port
        setup = Setup(tmp_path, {"hamburger.edu": ("127.0.0.1", port)}, retry_initial=0.1, retry_max=0.3)
        await setup.runner.start()
        try:
            await setup.submit("alice@crepes.fr", "bob@hamburger.edu")
            await wait_until(lambda: bool(setup.runner.entries) and setup.runner.entries[0].attempts >= 1)
            [entry] = setup.runner.entries
            await wait_until(
                lambda: (
                    setup.runner.entries[0].recipients[0].code is None
                    and bool(setup.runner.entries[0].recipients[0].text)
                ),
                what="a recorded connection failure",
            )
            async with ScriptedHop(port=port) as hop:
                await wait_until(lambda: len(hop.messages) == 1, what="delivery once the hop is up")
                await settle(setup)
        finally:
            await setup.runner.stop()
        assert entry.reverse_path == "alice@crepes.fr"
        assert setup.inbox("alice") == []

    run(scenario)


def test_flush_makes_a_deferred_entry_due_now(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with ScriptedHop({"bob@hamburger.edu": ["451 4.3.0 later"]}) as hop:
            routes = {"hamburger.edu": ("127.0.0.1", hop.port)}
            setup = Setup(tmp_path, routes, retry_initial=60, retry_max=60, lifetime=600)
            await setup.runner.start()
            try:
                await setup.submit("alice@crepes.fr", "bob@hamburger.edu")
                await wait_until(lambda: len(hop.rcpt_attempts) == 1 and setup.runner.entries[0].attempts == 1)
                await wait_until(lambda: setup.runner.entries[0].next_try > time.time() + 30, what="the backoff")
                setup.runner.flush()
                await wait_until(lambda: len(hop.messages) == 1, timeout=5, what="the flushed retry")
                await settle(setup)
            finally:
                await setup.runner.stop()

    run(scenario)


def test_queue_survives_a_restart_of_the_runner(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with ScriptedHop(always={"bob@hamburger.edu": "452 4.2.2 over quota"}) as hop:
            setup = Setup(tmp_path, {"hamburger.edu": ("127.0.0.1", hop.port)}, retry_initial=60, retry_max=60)
            await setup.runner.start()
            try:
                entry_id = await setup.submit("alice@crepes.fr", "bob@hamburger.edu")
                await wait_until(lambda: setup.runner.entries[0].attempts == 1 and bool(hop.rcpt_attempts))
                await wait_until(lambda: setup.runner.entries[0].recipients[0].code == 452)
            finally:
                await setup.runner.stop()
            hop.always.clear()
            again = Setup(tmp_path, {"hamburger.edu": ("127.0.0.1", hop.port)}, retry_initial=60, retry_max=60)
            await again.runner.start()
            try:
                [loaded] = again.runner.entries
                assert loaded.id == entry_id
                assert (loaded.attempts, loaded.recipients[0].code) == (1, 452)  # as recorded on disk
                again.runner.flush()
                await wait_until(lambda: len(hop.messages) == 1, what="delivery after the restart")
                await settle(again)
            finally:
                await again.runner.stop()

    run(scenario)


def test_stop_during_an_attempt_keeps_the_recipient_pending(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with ScriptedHop(final_delay=5) as hop:
            setup = Setup(tmp_path, {"hamburger.edu": ("127.0.0.1", hop.port)})
            await setup.runner.start()
            entry_id = await setup.submit("alice@crepes.fr", "bob@hamburger.edu")
            await wait_until(lambda: any(c == "DATA" for s in hop.sessions for c in s.commands))
            await setup.runner.stop()
        loaded = Spool(tmp_path / "mail").load().entries
        assert [(e.id, e.pending) for e in loaded] == [(entry_id, ("bob@hamburger.edu",))]

    run(scenario)


@pytest.mark.parametrize(("concurrency", "most_open"), [(1, 1), (3, 3)])
def test_concurrency_bounds_attempts_in_flight(tmp_path: Path, concurrency: int, most_open: int) -> None:
    async def scenario() -> None:
        async with ScriptedHop(final_delay=0.3) as hop:
            setup = Setup(tmp_path, {"hamburger.edu": ("127.0.0.1", hop.port)}, concurrency=concurrency)
            for n in range(3):
                await setup.submit("alice@crepes.fr", f"user{n}@hamburger.edu")
            await setup.runner.start()  # all three are due at once
            try:
                await wait_until(lambda: len(hop.messages) == 3, what="three deliveries")
                await settle(setup)
            finally:
                await setup.runner.stop()
            assert hop.most_open == most_open

    run(scenario)


# --- faults this module owns: each one changes the outcome as described ------------------------


def test_fault_no_retry_on_4xx_bounces_at_once(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with ScriptedHop({"bob@hamburger.edu": ["451 4.3.0 try later"]}) as hop:
            setup = Setup(
                tmp_path, {"hamburger.edu": ("127.0.0.1", hop.port)}, faults=Faults.of(["relay.no-retry-on-4xx"])
            )
            await setup.runner.start()
            try:
                await setup.submit("alice@crepes.fr", "bob@hamburger.edu")
                await wait_until(lambda: len(setup.inbox("alice")) == 1, what="the premature bounce")
                await settle(setup)
                await asyncio.sleep(0.4)  # longer than retry_initial: a retry would show now
            finally:
                await setup.runner.stop()
            assert len(hop.rcpt_attempts) == 1 and hop.messages == []
            _, bob = status_fields(setup.inbox("alice")[0])
            assert bob["Diagnostic-Code"] == "smtp; 451 4.3.0 try later"

    run(scenario)


def test_fault_no_bounce_on_5xx_drops_silently(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with ScriptedHop(always={"bob@hamburger.edu": "550 5.1.1 no such user"}) as hop:
            setup = Setup(
                tmp_path, {"hamburger.edu": ("127.0.0.1", hop.port)}, faults=Faults.of(["relay.no-bounce-on-5xx"])
            )
            await setup.runner.start()
            try:
                await setup.submit("alice@crepes.fr", "bob@hamburger.edu")
                await settle(setup)
                await asyncio.sleep(0.2)
            finally:
                await setup.runner.stop()
            assert hop.rcpt_attempts and setup.inbox("alice") == []

    run(scenario)


def test_fault_bounce_to_null_sender_notifies_the_postmaster(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with ScriptedHop(always={"bob@hamburger.edu": "550 5.1.1 no such user"}) as hop:
            setup = Setup(
                tmp_path,
                {"hamburger.edu": ("127.0.0.1", hop.port)},
                faults=Faults.of(["relay.bounce-to-null-sender"]),
            )
            await setup.runner.start()
            try:
                await setup.submit("", "bob@hamburger.edu")
                await wait_until(lambda: len(setup.inbox("postmaster-box")) == 1, what="the postmaster's copy")
                await settle(setup)
            finally:
                await setup.runner.stop()
            assert status_fields(setup.inbox("postmaster-box")[0])[1]["Final-Recipient"] == "rfc822; bob@hamburger.edu"

    run(scenario)


@pytest.mark.parametrize(
    ("faults", "expected_sender"), [((), ""), (("relay.bounce-with-sender",), "postmaster@crepes.fr")]
)
def test_notification_to_a_remote_sender_is_queued_with_the_null_reverse_path(
    tmp_path: Path, faults: tuple[str, ...], expected_sender: str
) -> None:
    """RFC 5321 §4.5.5: notifications go out with MAIL FROM:<> (the fault uses a real sender)."""

    async def scenario() -> None:
        async with ScriptedHop(always={"bob@hamburger.edu": "550 5.1.1 no such user"}) as hop:
            setup = Setup(tmp_path, {"hamburger.edu": ("127.0.0.1", hop.port)}, faults=Faults.of(faults))
            await setup.runner.start()
            try:
                await setup.submit("sender@hamburger.edu", "bob@hamburger.edu")
                await wait_until(lambda: len(hop.delivered_to("sender@hamburger.edu")) == 1, what="the notification")
                await settle(setup)
            finally:
                await setup.runner.stop()
            [notification] = hop.delivered_to("sender@hamburger.edu")
            assert notification.mail_from == expected_sender
            report = BytesParser(policy=email.policy.default).parsebytes(notification.data)
            assert isinstance(report, EmailMessage)
            assert status_fields(report)[1]["Final-Recipient"] == "rfc822; bob@hamburger.edu"
            assert "Return-Path" not in report  # added only at final delivery (RFC 5321 §4.4)

    run(scenario)
