"""Side by side in one run: the reference server's POP3 against Dovecot's, same load, same disk.

Each server gets ``--connections`` accounts with a maildrop of ``--messages`` identical messages
each, and every worker of the load generator uses an account of its own: the reference server
locks a maildrop for the length of a session (RFC 1939 §4, a second session is answered -ERR
[IN-USE], RFC 2449 §8.1.2), so ten connections on one maildrop would measure refusals. Dovecot
does not lock by default; it gets the same shape so the two do the same work.

The maildrops are filled through each server's own delivery path: SMTP for the reference server,
LMTP into Dovecot (the socket its Postfix front door uses), with the same messages. Then, per load
shape (``retr``: RETRs on kept sessions; ``poll``: login, STAT, LIST, RETR 1, QUIT, reconnect),
each server gets a warm-up and ``--repeat`` rounds of ``--seconds`` that alternate which server
goes first. The ratio compares the median rounds. Both use STLS when either one refuses to take a
password in the clear (its CAPA lacks USER before TLS, RFC 2449 §6.5), so both pay for the same
handshakes.

Dovecot comes from ``targets/dovecot/start`` (installed with apt-get when missing; root only). The
benchmark accounts are added to that instance's passwd-file after it starts, in the same scheme as
its own users; the instance lives in the work directory and is stopped and removed at the end.

    python -m benchmarks.run_pop3 [--repeat 3] [--seconds 10] [--messages 1000] [--size 4K]

writes benchmarks/results/pop3.json and prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import smtplib
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Final

from benchmarks import rounds
from benchmarks.pop3_load import (
    CONNECTION_FAILURES,
    Credentials,
    LoadError,
    LoadResult,
    LoadSpec,
    Mode,
    Pop3Connection,
    Refused,
    parse_drop_listing,
    parse_endpoint,
    run_load,
)
from benchmarks.run_smtp import ServerProcess, ServerStartError
from benchmarks.smtp_load import Endpoint, body_lines, parse_octets

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT: Final = rounds.RESULTS_DIR / "pop3.json"
DOVECOT_START: Final = REPO_ROOT / "targets" / "dovecot" / "start"
DOVECOT_STOP: Final = REPO_ROOT / "targets" / "dovecot" / "stop"

REFERENCE: Final = "reference"
DOVECOT: Final = "dovecot"
SERVERS: Final = (DOVECOT, REFERENCE)
MODES: Final[tuple[Mode, ...]] = ("retr", "poll")
DOMAIN: Final = "example.test"  # both the reference server's config below and the Dovecot target's
SENDER: Final = f"loadgen@{DOMAIN}"
ACCOUNT_PREFIX: Final = "pop3bench"

# Issue 5: reference / Dovecot, per load shape.
TARGETS: Final[dict[str, float]] = {"retr": 0.5, "poll": 2.0}
DEFAULT_CONNECTIONS: Final = 10
DEFAULT_MESSAGES: Final = 1000
DEFAULT_SIZE: Final = "4K"
DEFAULT_SECONDS: Final = 10.0
DEFAULT_MAX_OPERATIONS: Final = 2_000_000  # per run; with --seconds, what bounds a run
FILL_CONNECTIONS: Final = 4  # parallel SMTP / LMTP connections while filling
FILL_TIMEOUT: Final = 60.0  # per SMTP / LMTP command
DOVECOT_START_TIMEOUT: Final = 900.0  # a first start may install packages with apt-get
DOVECOT_STOP_TIMEOUT: Final = 60.0
DOVECOT_UNAVAILABLE: Final = 3  # targets/dovecot/start: cannot be installed here (not root, no apt-get)
PROBE_TIMEOUT: Final = 10.0
# The table: a heading, and a row per median round filled from its results-file entry.
TABLE_HEADING: Final = f"{'shape':<7}{'server':<11}{'ops/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'ops':>9}{'failed':>8}"
TABLE_ROW: Final = "{mode:<7}{server:<11}{ops_per_s:>10}{p50_ms!s:>9}{p99_ms!s:>9}{ops:>9}{failed:>8}"


class BenchError(Exception):
    """A server could not be started, filled or checked; the message says which and why."""


@dataclass(frozen=True)
class Target:
    """A POP3 server under test: where it listens and how to deliver into it."""

    name: str
    pop3: Endpoint
    accounts: tuple[Credentials, ...]


def bench_accounts(count: int) -> tuple[Credentials, ...]:
    """The benchmark's own accounts, the same on both servers."""
    names = (f"{ACCOUNT_PREFIX}{n:02d}" for n in range(1, count + 1))
    return tuple(Credentials(name, f"{name}pw") for name in names)


def bench_message(sequence: int, octets: int) -> bytes:
    """One message of exactly ``octets`` octets as stored with CRLF line ends (RFC 5322 §2.1).

    Every 94th body line starts with a period, so both servers byte-stuff on RETR (RFC 1939 §3).
    A fixed-width sequence number keeps every message the same size.
    """
    header = (
        f"Date: {format_datetime(datetime.now(UTC))}\r\n"
        f"From: {SENDER}\r\n"
        f"To: undisclosed-recipients:;\r\n"
        f"Subject: mailconform POP3 benchmark {sequence:06d}\r\n"
        f"Message-ID: <{sequence:06d}.pop3bench@loadgen.invalid>\r\n"
        "\r\n"
    ).encode("ascii")
    body = octets - len(header)
    if body < 2:
        raise ValueError(f"{octets} octets: the header alone takes {len(header)}")
    return header + b"".join(body_lines(body))


def free_port() -> int:
    """A port nothing listens on right now (another process could still take it before us)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- the reference server --------------------------------------------------------------------


def reference_config(accounts: Sequence[Credentials]) -> str:
    """SMTP and POP3 with STARTTLS/STLS on free ports; passwords are hashed (scrypt) at load."""
    lines = [f'domains = ["{DOMAIN}"]', "", "[server]", f'hostname = "mail.{DOMAIN}"', ""]
    for account in accounts:
        lines += ["[[accounts]]", f'login = "{account.user}"', f'addresses = ["{account.user}@{DOMAIN}"]']
        lines += [f'password = "{account.password}"', ""]
    for name in ("smtp", "pop3"):
        lines += ["[[listeners]]", f'name = "{name}"', f'protocol = "{name}"', 'host = "127.0.0.1"']
        lines += ["port = 0", 'tls = "starttls"', ""]
    return "\n".join(lines)


@contextlib.contextmanager
def reference_target(work_dir: Path, accounts: Sequence[Credentials]) -> Iterator[tuple[Target, int]]:
    """The reference server as a child process; yields its target and its SMTP port."""
    config = work_dir / "reference.toml"
    config.write_text(reference_config(accounts))
    mail_root, ready_file = work_dir / f"{REFERENCE}-mail", work_dir / f"{REFERENCE}.ready.json"
    command = [sys.executable, "-m", "reference_server", "serve", "--config", str(config), "--any-port"]
    command += ["--ready-file", str(ready_file), "--mail-root", str(mail_root), "--log-level", "WARNING"]
    server = ServerProcess(REFERENCE, command, mail_root, ready_file, work_dir / f"{REFERENCE}.log")
    try:
        server.start()
    except ServerStartError as error:
        raise BenchError(str(error)) from None
    try:
        listeners = json.loads(ready_file.read_text())["listeners"]
        if "pop3" not in listeners:
            raise BenchError("the reference server started no pop3 listener")
        pop3 = Endpoint("127.0.0.1", "127.0.0.1", int(listeners["pop3"]["port"]))
        yield Target(REFERENCE, pop3, tuple(accounts)), server.port
    finally:
        server.stop()
        shutil.rmtree(mail_root, ignore_errors=True)


# --- Dovecot ------------------------------------------------------------------------------------


@contextlib.contextmanager
def dovecot_target(work_dir: Path, accounts: Sequence[Credentials]) -> Iterator[tuple[Target, Path]]:
    """Dovecot from targets/dovecot/start on free ports; yields its target and its LMTP socket."""
    instance = work_dir / DOVECOT
    ports = {name: free_port() for name in ("DOVECOT_POP3_PORT", "DOVECOT_IMAP_PORT", "DOVECOT_SMTP_PORT")}
    work_dir.chmod(0o755)  # Dovecot's unprivileged processes must be able to walk into the instance
    log = work_dir / "dovecot-start.log"
    with log.open("wb") as output:
        status = subprocess.run(
            [str(DOVECOT_START), str(instance)],
            env=dict(os.environ, **{name: str(port) for name, port in ports.items()}),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            timeout=DOVECOT_START_TIMEOUT,
            check=False,
        ).returncode
    try:
        if status == DOVECOT_UNAVAILABLE:
            raise BenchError(f"Dovecot cannot be installed here: {_tail(log)}")
        if status != 0:
            raise BenchError(f"targets/dovecot/start exited {status}: {_tail(log)}")
        target = tomllib.loads((instance / "target.toml").read_text())
        pop3 = parse_endpoint(str(target["endpoints"]["pop3"]))  # loopback, or refused
        _add_dovecot_users(instance / "dovecot" / "users", accounts)
        yield Target(DOVECOT, pop3, tuple(accounts)), instance / "dovecot" / "run" / "lmtp"
    finally:
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            subprocess.run(
                [str(DOVECOT_STOP), str(instance)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=DOVECOT_STOP_TIMEOUT,
                check=False,
            )
        shutil.rmtree(instance, ignore_errors=True)


def _add_dovecot_users(users_file: Path, accounts: Sequence[Credentials]) -> None:
    """Append the accounts in the scheme the target's own users have ({PLAIN}, see its start).

    Dovecot re-reads a passwd-file whose modification time changed, so no restart is needed.
    """
    lines = "".join(f"{account.user}@{DOMAIN}:{{PLAIN}}{account.password}::::::\n" for account in accounts)
    with users_file.open("a", encoding="ascii") as handle:
        handle.write(lines)


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(text[-lines:]) or "(no output)"


# --- filling the maildrops ----------------------------------------------------------------------


def fill_by_smtp(port: int, accounts: Sequence[Credentials], messages: int, size: int) -> None:
    """Every message once, to every account (one transaction, one RCPT per account)."""
    recipients = [f"{account.user}@{DOMAIN}" for account in accounts]

    def deliver(sequences: range) -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=FILL_TIMEOUT) as client:
            for sequence in sequences:
                refused = client.sendmail(SENDER, recipients, bench_message(sequence, size))
                if refused:
                    raise BenchError(f"SMTP refused {sorted(refused)}")

    _in_parallel(deliver, messages)


def fill_by_lmtp(socket_path: Path, accounts: Sequence[Credentials], messages: int, size: int) -> None:
    """Every message once per account; one RCPT per transaction, since smtplib reads one reply
    after DATA where LMTP sends one per recipient (RFC 2033 §4.2)."""
    recipients = [f"{account.user}@{DOMAIN}" for account in accounts]

    def deliver(sequences: range) -> None:
        with smtplib.LMTP(str(socket_path), timeout=FILL_TIMEOUT) as client:
            client.ehlo_or_helo_if_needed()
            for sequence in sequences:
                message = bench_message(sequence, size)
                for recipient in recipients:
                    if client.sendmail(SENDER, [recipient], message):
                        raise BenchError(f"LMTP refused {recipient}")

    _in_parallel(deliver, messages)


def _in_parallel(deliver: Callable[[range], None], messages: int) -> None:
    """Split 0..messages-1 over FILL_CONNECTIONS connections; the first failure is raised."""
    share = -(-messages // FILL_CONNECTIONS)
    slices = [range(start, min(start + share, messages)) for start in range(0, messages, share)]
    with ThreadPoolExecutor(max_workers=len(slices) or 1) as pool:
        for future in [pool.submit(deliver, part) for part in slices]:
            future.result()


async def _maildrop_sizes(target: Target, stls: bool) -> dict[str, int]:
    """STAT of every account (RFC 1939 §5): how many messages each maildrop holds."""
    counts: dict[str, int] = {}
    for account in target.accounts:
        spec = LoadSpec(target.pop3, account, stls=stls, reply_timeout=PROBE_TIMEOUT)
        connection = await Pop3Connection.open(spec)
        try:
            await connection.login(account)
            stat = await connection.expect_ok("STAT", b"STAT\r\n")
            counts[account.user], _ = parse_drop_listing(stat.text)
        finally:
            await connection.quit()
    return counts


def check_maildrops(target: Target, stls: bool, messages: int) -> None:
    try:
        counts = asyncio.run(_maildrop_sizes(target, stls))
    except (*CONNECTION_FAILURES, Refused) as error:
        raise BenchError(f"{target.name}: cannot read the maildrops: {error}") from None
    wrong = {user: count for user, count in counts.items() if count != messages}
    if wrong:
        raise BenchError(f"{target.name}: maildrops do not hold {messages} messages: {wrong}")


async def _refuses_plaintext_login(target: Target) -> bool:
    """True when CAPA before TLS offers STLS and not USER (RFC 2449 §6.5, RFC 2595 §4)."""
    spec = LoadSpec(target.pop3, target.accounts[0], reply_timeout=PROBE_TIMEOUT)
    connection = await Pop3Connection.open(spec)
    try:
        capabilities = await connection.command(b"CAPA\r\n", multiline=True)
    finally:
        await connection.quit()
    if not capabilities.ok:
        return False  # no CAPA: nothing to go by; a refused login will show in the results
    tags = {line.split(b" ")[0].upper() for line in capabilities.lines() if line}
    return b"USER" not in tags and b"STLS" in tags


def refuses_plaintext_login(target: Target) -> bool:
    try:
        return asyncio.run(_refuses_plaintext_login(target))
    except (*CONNECTION_FAILURES, Refused) as error:
        raise BenchError(f"{target.name}: CAPA probe failed: {error}") from None


# --- measuring ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan(rounds.Destination):
    """The command line, checked and typed."""

    connections: int
    messages: int
    size: int
    repeat: int
    seconds: float
    warmup_seconds: float
    max_operations: int
    stls: str

    def settings(self) -> dict[str, object]:
        return {
            "connections": self.connections,
            "messages_per_maildrop": self.messages,
            "message_octets": self.size,
            "repeat": self.repeat,
            "seconds": self.seconds,
            "warmup_seconds": self.warmup_seconds,
            "stls": self.stls,
        }


def _plan(argv: Sequence[str] | None) -> Plan:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run_pop3", description="The reference server's POP3 and Dovecot side by side."
    )
    parser.add_argument("--connections", type=int, default=DEFAULT_CONNECTIONS, help="and as many accounts")
    parser.add_argument("--messages", type=int, default=DEFAULT_MESSAGES, help="per maildrop")
    parser.add_argument("--size", type=parse_octets, default=parse_octets(DEFAULT_SIZE), help="per message")
    parser.add_argument("--repeat", type=int, default=rounds.DEFAULT_REPEAT, help="measured rounds per shape")
    parser.add_argument("--seconds", type=float, default=DEFAULT_SECONDS, help="per measured run")
    parser.add_argument("--warmup-seconds", type=float, default=rounds.DEFAULT_WARMUP_SECONDS)
    parser.add_argument("--max-operations", type=int, default=DEFAULT_MAX_OPERATIONS, help="per run, at most")
    parser.add_argument(
        "--stls", choices=("auto", "yes", "no"), default="auto", help="auto: when either server needs it"
    )
    parser.add_argument("--work-dir", type=Path, default=rounds.RESULTS_DIR, help="mailboxes and instances go here")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    arguments = parser.parse_args(argv)
    if min(arguments.connections, arguments.messages, arguments.repeat, arguments.max_operations) < 1:
        parser.error("--connections, --messages, --repeat and --max-operations need at least one")
    if not arguments.seconds > 0 or not arguments.warmup_seconds > 0:
        parser.error("--seconds and --warmup-seconds must be positive")
    return Plan(
        connections=int(arguments.connections),
        messages=int(arguments.messages),
        size=int(arguments.size),
        repeat=int(arguments.repeat),
        seconds=float(arguments.seconds),
        warmup_seconds=float(arguments.warmup_seconds),
        max_operations=int(arguments.max_operations),
        stls=str(arguments.stls),
        work_dir=Path(arguments.work_dir),
        output=Path(arguments.output),
    )


@dataclass
class Measurement:
    server: str
    mode: Mode
    round: int
    result: LoadResult

    def as_dict(self) -> dict[str, object]:
        return {"server": self.server, "round": self.round} | self.result.summary()

    @property
    def rate(self) -> float:
        return self.result.ops_per_s


class Report(rounds.Rounds[Measurement]):
    """The rounds of both load shapes."""

    def median(self, server: str, mode: Mode) -> Measurement | None:
        return self.median_where(lambda m: m.server == server and m.mode == mode)

    def ratios(self) -> dict[str, dict[str, object]]:
        """Per load shape where both servers ran: reference ops/s over Dovecot ops/s."""
        return self.compare(MODES, REFERENCE, DOVECOT, lambda mode: TARGETS[mode])

    def as_dict(self) -> dict[str, object]:
        return self.document(MODES, SERVERS, self.ratios())


def load(target: Target, plan: Plan, mode: Mode, seconds: float, stls: bool) -> LoadResult:
    spec = LoadSpec(
        endpoint=target.pop3,
        credentials=target.accounts[0],
        more_accounts=target.accounts[1:],
        mode=mode,
        connections=plan.connections,
        max_operations=plan.max_operations,
        max_seconds=seconds,
        stls=stls,
    )
    return asyncio.run(run_load(spec))


def measure(plan: Plan, targets: Sequence[Target], stls: bool, report: Report) -> None:
    """Per shape: a warm-up for each server, then rounds that alternate which server goes first."""
    for mode in MODES:
        for target in targets:
            warmup = load(target, plan, mode, plan.warmup_seconds, stls)
            rate = f"{warmup.ops_per_s:9.1f} ops/s, {warmup.failed} failed"
            rounds.progress(f"warm-up {target.name:<10} {mode}: {rate}")
        for round_number in range(plan.repeat):
            order = targets if round_number % 2 == 0 else targets[::-1]
            for target in order:
                result = load(target, plan, mode, plan.seconds, stls)
                report.measurements.append(Measurement(target.name, mode, round_number, result))
                rounds.progress(
                    f"round {round_number + 1} {target.name:<10} {mode}: {result.ops_per_s:9.1f} ops/s, "
                    f"p50 {result.summary()['p50_ms']} ms, {result.ops} ops, {result.failed} failed"
                )
                if result.failed:
                    where = f"{target.name} {mode} round {round_number + 1}"
                    report.notes.append(f"{where}: {result.failed} failed: {dict(result.errors)}")


def render_table(report: Report) -> str:
    settings = report.settings
    title = (
        f"POP3, {settings['connections']} connections on as many {settings['messages_per_maildrop']}-message "
        f"maildrops of {rounds.size_label(int(str(settings['message_octets'])))}, STLS {settings['stls_used']}, "
        f"median of {settings['repeat']} rounds of {settings['seconds']:g} s"
    )
    rows = [TABLE_ROW.format(**m.as_dict()) for m in report.medians(MODES, SERVERS)]
    footer = []
    for shape, entry in report.ratios().items():
        unit = "RETR/s" if shape == "retr" else "sessions/s"
        verdict = "met" if entry["met"] else "NOT met"
        target = f"target >= {entry['target']}x, {verdict}"
        footer.append(f"{unit}, reference / dovecot: {entry['ratio']}x ({target})")
    return report.table_text(title, TABLE_HEADING, rows, footer)


def run(plan: Plan, work_dir: Path, report: Report) -> None:
    accounts = bench_accounts(plan.connections)
    bench_message(0, plan.size)  # a size too small for the header fails here, before anything starts
    with contextlib.ExitStack() as stack:
        began = time.monotonic()
        rounds.progress("starting the reference server and Dovecot")
        reference, smtp_port = stack.enter_context(reference_target(work_dir, accounts))
        dovecot, lmtp_socket = stack.enter_context(dovecot_target(work_dir, accounts))
        total = plan.messages * len(accounts)
        rounds.progress(f"filling {len(accounts)} maildrops of {plan.messages} messages each ({total} per server)")
        fill_by_smtp(smtp_port, accounts, plan.messages, plan.size)
        fill_by_lmtp(lmtp_socket, accounts, plan.messages, plan.size)
        rounds.progress(f"filled in {time.monotonic() - began:.1f} s")
        targets = (dovecot, reference)
        needs = {target.name: refuses_plaintext_login(target) for target in targets}
        stls = plan.stls == "yes" or (plan.stls == "auto" and any(needs.values()))
        report.settings["stls_used"] = stls
        report.settings["plaintext_login_refused"] = needs
        for target in targets:
            check_maildrops(target, stls, plan.messages)
        rounds.progress(f"every maildrop holds {plan.messages} messages; STLS {'on' if stls else 'off'} for both")
        measure(plan, targets, stls, report)


def main(argv: Sequence[str] | None = None) -> int:
    plan = _plan(argv)
    with plan.scratch_dir("pop3-bench-") as work_dir:
        report = Report(settings=plan.settings(), machine=rounds.machine_info(work_dir))
        try:
            run(plan, work_dir, report)
        except (BenchError, LoadError, OSError, smtplib.SMTPException, subprocess.SubprocessError) as error:
            print(f"run_pop3: {error}", file=sys.stderr)
            return 1
    plan.publish(report.as_dict(), render_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
