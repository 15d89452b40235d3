"""Side by side in one run: the reference server against aiosmtpd-durable, same load, same disk.

Both servers promise durability the same way (every message fsync'd before its 250), run as
child processes on loopback ports, write to the same file system and get the same message count,
so their ratio says something about the servers and little about the day's VM. Per message size:
fresh servers, a warm-up that also measures each one's rate, a message count large enough for
the faster server to need at least ``--min-seconds``, then ``--repeat`` rounds that alternate
which server goes first. The ratio compares the median rounds.

The memory check sends one large message to a fresh server and reads the kernel's record of the
peak resident set (VmHWM in /proc/PID/status) before and after: peak growth / message size says
whether the message sat in memory whole (about 1x) or several times over.

    python -m benchmarks.run_smtp [--repeat 3] [--sizes 1K,100K] [--connections 10] [--no-memory]

writes benchmarks/results/smtp.json and prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from benchmarks import rounds
from benchmarks.smtp_load import Endpoint, LoadError, LoadResult, LoadSpec, parse_octets, run_load

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT: Final = rounds.RESULTS_DIR / "smtp.json"

REFERENCE: Final = "reference"
BASELINE: Final = "aiosmtpd-durable"
SERVERS: Final = (BASELINE, REFERENCE)  # table order
DEFAULT_DOMAIN: Final = "example.test"  # the reference server's built-in domain, used when it is absent
SENDER_LOCAL_PART: Final = "alice"  # the reference server's built-in accounts
RECIPIENT_LOCAL_PART: Final = "bob"

TARGET_RATIO: Final = 2.0  # reference msgs/s over aiosmtpd-durable msgs/s, per size (issue 3)
MEMORY_TARGET: Final = 2.0  # peak RSS growth over message size, reference server (issue 3)
DEFAULT_SIZES: Final = "1K,100K"
DEFAULT_CONNECTIONS: Final = 10
DEFAULT_MIN_SECONDS: Final = 5.0
DEFAULT_MAX_MESSAGES: Final = 200_000  # per run; with --run-limit, what bounds time and disk use
DEFAULT_RUN_LIMIT: Final = 120.0  # seconds one measured run may take, whatever the count
DEFAULT_MEMORY_SIZE: Final = "50M"
COUNT_HEADROOM: Final = 1.5  # rates drift up after the warm-up: aim well past --min-seconds
MAX_RECOUNTS: Final = 3  # rounds redone with a larger count when one ran under --min-seconds
SERVER_LIFETIME: Final = 3600.0  # aiosmtpd-durable stops by itself after this, runner or not
START_TIMEOUT: Final = 30.0
STOP_TIMEOUT: Final = 15.0
POLL_INTERVAL: Final = 0.05
MEMORY_PROBE_OCTETS: Final = 1024  # one small message first, so first-use allocations are not counted
RAM_FILESYSTEMS: Final = frozenset({"tmpfs", "ramfs"})
# The file creation probe measured 15-18 us on a settled ext4 here, and up to 1000 us after many deletions.
SLOW_FILE_CREATION_MICROS: Final = 100
# The table: a heading, and a row per median round filled from its results-file entry.
TABLE_HEADING: Final = f"{'size':<9}{'server':<18}{'msgs/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'messages':>10}{'failed':>8}"
TABLE_ROW: Final = "{size_label:<9}{server:<18}{msgs_per_s:>9}{p50_ms!s:>9}{p99_ms!s:>9}{messages:>10}{failed:>8}"


class ServerStartError(Exception):
    """A server did not come up; the message carries the end of its log."""


@dataclass
class ServerProcess:
    """One server as a child process; ready when its ready file names the smtp listener."""

    name: str
    command: list[str]
    mail_root: Path
    ready_file: Path
    log_file: Path
    process: subprocess.Popen[bytes] | None = None
    port: int = 0
    domain: str = DEFAULT_DOMAIN

    @property
    def pid(self) -> int:
        if self.process is None:
            raise ServerStartError(f"{self.name} is not running")
        return self.process.pid

    def start(self) -> None:
        self.ready_file.unlink(missing_ok=True)  # a stale one would name the last run's port
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=REPO_ROOT,
                env=_child_env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while not self.ready_file.exists():
            if self.process.poll() is not None:
                status = self.process.returncode
                raise ServerStartError(f"{self.name} exited at start ({status}): {self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise ServerStartError(f"{self.name} not ready in {START_TIMEOUT:g} s: {self.log_tail()}")
            time.sleep(POLL_INTERVAL)
        ready = json.loads(self.ready_file.read_text())
        self.port = int(ready["listeners"]["smtp"]["port"])
        self.domain = (ready.get("domains") or [DEFAULT_DOMAIN])[0]

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def log_tail(self, lines: int = 3) -> str:
        try:
            text = self.log_file.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(text[-lines:]) or "(no output)"

    def stored_messages(self) -> int:
        """Files in every Maildir new/ and cur/ under the mail root: what was actually delivered."""
        return sum(
            1
            for directory in self.mail_root.rglob("*")
            if directory.name in ("new", "cur") and directory.is_dir()
            for entry in directory.iterdir()
            if entry.is_file()
        )


def _child_env() -> dict[str, str]:
    existing = os.environ.get("PYTHONPATH")
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), existing])))


def fresh_mail_root(work_dir: Path, server: str) -> Path:
    """A mail root no earlier server of this run used: the old ones stay until the run ends (`running`)."""
    return Path(tempfile.mkdtemp(prefix=f"{server}-mail-", dir=work_dir))


def baseline_server(work_dir: Path) -> ServerProcess:
    mail_root, ready_file = fresh_mail_root(work_dir, BASELINE), work_dir / f"{BASELINE}.ready.json"
    command = [sys.executable, "-m", "benchmarks.aiosmtpd_durable", "--port", "0"]
    command += ["--maildir", str(mail_root / "Maildir"), "--ready-file", str(ready_file)]
    command += ["--max-seconds", str(SERVER_LIFETIME)]
    return ServerProcess(BASELINE, command, mail_root, ready_file, work_dir / f"{BASELINE}.log")


def reference_server(work_dir: Path) -> ServerProcess:
    mail_root, ready_file = fresh_mail_root(work_dir, REFERENCE), work_dir / f"{REFERENCE}.ready.json"
    command = [sys.executable, "-m", "reference_server", "serve", "--any-port"]
    command += ["--ready-file", str(ready_file), "--mail-root", str(mail_root)]
    command += ["--log-level", "WARNING"]  # as aiosmtpd-durable: per-message INFO lines would be timed too
    return ServerProcess(REFERENCE, command, mail_root, ready_file, work_dir / f"{REFERENCE}.log")


@contextlib.contextmanager
def running(servers: Sequence[ServerProcess]) -> Iterator[list[ServerProcess]]:
    """Start each server; one that fails to start is reported and left out, the rest still run.

    On the way out every server is stopped. Its mail root stays until the whole run is over (the
    scratch directory goes then): removing tens of thousands of files between sizes would leave
    the file system slow to create files for minutes (rounds.SETTLE_SECONDS), and that is what
    the next size would measure.
    """
    started: list[ServerProcess] = []
    try:
        for server in servers:
            try:
                server.start()
            except ServerStartError as error:
                print(f"warning: {error}", file=sys.stderr)
                continue
            started.append(server)
        yield started
    finally:
        for server in started:
            server.stop()


def peak_rss_octets(pid: int) -> int:
    """VmHWM: the largest resident set the process has had since it started."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            value, unit = line.split()[1:3]
            if unit != "kB":
                raise ValueError(f"unexpected unit in {line!r}")
            return int(value) * 1024
    raise ValueError(f"no VmHWM in /proc/{pid}/status")


@dataclass
class Measurement:
    """One measured run of one server at one size."""

    server: str
    size: int
    round: int
    messages: int
    result: LoadResult

    def as_dict(self) -> dict[str, object]:
        return {"server": self.server, "size": self.size, "round": self.round, "messages": self.messages} | (
            self.result.summary()
        )

    @property
    def rate(self) -> float:
        return self.result.msgs_per_s


@dataclass
class Report(rounds.Rounds[Measurement]):
    """The rounds, and besides them the memory check and what each server stored of what it acknowledged."""

    stored: list[dict[str, object]] = field(default_factory=list)
    memory: dict[str, dict[str, object]] = field(default_factory=dict)

    def median(self, server: str, size: int) -> Measurement | None:
        return self.median_where(lambda m: m.server == server and m.size == size)

    def ratios(self, sizes: Sequence[int]) -> dict[str, dict[str, object]]:
        """Per size where both servers ran: reference msgs/s over baseline msgs/s."""
        return self.compare(sizes, REFERENCE, BASELINE, lambda size: TARGET_RATIO)

    def as_dict(self, sizes: Sequence[int]) -> dict[str, object]:
        extra = {"memory": self.memory, "stored": self.stored}
        return self.document(sizes, SERVERS, self.ratios(sizes), extra)


@dataclass(frozen=True)
class Plan(rounds.Destination):
    """The command line, checked and typed."""

    sizes: tuple[int, ...]
    connections: int
    repeat: int
    min_seconds: float
    warmup_seconds: float
    max_messages: int
    run_limit: float
    pipelining: bool
    memory_size: int | None

    def settings(self) -> dict[str, object]:
        """What the results file records about how it was made."""
        return {
            "sizes": list(self.sizes),
            "connections": self.connections,
            "repeat": self.repeat,
            "min_seconds": self.min_seconds,
            "warmup_seconds": self.warmup_seconds,
            "pipelining": self.pipelining,
            "settle_seconds": self.settle_seconds,
        }

    def message_count(self, rates: Sequence[float]) -> int:
        """Enough messages for the fastest rate seen to need ``min_seconds``, within max_messages."""
        wanted = math.ceil(max(rates, default=0.0) * self.min_seconds * COUNT_HEADROOM)
        return min(self.max_messages, max(1, wanted))


def _plan(argv: Sequence[str] | None) -> Plan:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run_smtp", description="The reference server and aiosmtpd-durable side by side."
    )
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help=f"message sizes (default {DEFAULT_SIZES})")
    parser.add_argument("--connections", type=int, default=DEFAULT_CONNECTIONS)
    parser.add_argument("--repeat", type=int, default=rounds.DEFAULT_REPEAT, help="measured rounds per size")
    parser.add_argument("--min-seconds", type=float, default=DEFAULT_MIN_SECONDS, help="faster server's run")
    parser.add_argument("--warmup-seconds", type=float, default=rounds.DEFAULT_WARMUP_SECONDS)
    parser.add_argument("--max-messages", type=int, default=DEFAULT_MAX_MESSAGES, help="per run, at most")
    parser.add_argument("--run-limit", type=float, default=DEFAULT_RUN_LIMIT, help="seconds per run, at most")
    parser.add_argument("--pipelining", action="store_true", help="pipeline MAIL/RCPT/DATA where offered")
    parser.add_argument("--memory-size", type=parse_octets, default=parse_octets(DEFAULT_MEMORY_SIZE))
    parser.add_argument("--no-memory", action="store_true", help="skip the large-message memory check")
    parser.add_argument("--work-dir", type=Path, default=rounds.RESULTS_DIR, help="mail roots go under here")
    parser.add_argument(
        "--settle-seconds",
        type=float,
        default=rounds.SETTLE_SECONDS,
        help=f"after the last run's cleanup, wait until this long has passed (default {rounds.SETTLE_SECONDS:g})",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    arguments = parser.parse_args(argv)
    try:
        sizes = tuple(parse_octets(text.strip()) for text in str(arguments.sizes).split(",") if text.strip())
    except ValueError as error:
        parser.error(str(error))
    if min(arguments.repeat, arguments.connections, arguments.max_messages) < 1 or not sizes:
        parser.error("--sizes, --repeat, --connections and --max-messages need at least one")
    return Plan(
        sizes=sizes,
        connections=int(arguments.connections),
        repeat=int(arguments.repeat),
        min_seconds=float(arguments.min_seconds),
        warmup_seconds=float(arguments.warmup_seconds),
        max_messages=int(arguments.max_messages),
        run_limit=float(arguments.run_limit),
        pipelining=bool(arguments.pipelining),
        memory_size=None if arguments.no_memory else int(arguments.memory_size),
        work_dir=Path(arguments.work_dir),
        output=Path(arguments.output),
        settle_seconds=max(0.0, float(arguments.settle_seconds)),
    )


def load(
    server: ServerProcess, plan: Plan, size: int, messages: int, seconds: float, *, single: bool = False
) -> LoadResult:
    """One load generator run against ``server``, addressed to a mailbox of its own domain."""
    spec = LoadSpec(
        endpoint=Endpoint("127.0.0.1", "127.0.0.1", server.port),
        connections=1 if single else plan.connections,
        messages=messages,
        size=size,
        pipelining=plan.pipelining,
        max_seconds=seconds,
        mail_from=f"{SENDER_LOCAL_PART}@{server.domain}",
        rcpt=f"{RECIPIENT_LOCAL_PART}@{server.domain}",
    )
    return asyncio.run(run_load(spec))


def measure_size(plan: Plan, work_dir: Path, size: int, report: Report) -> None:
    """Fresh servers; warm-up and rate probe; one message count for both; alternating rounds.

    A round in which a server finished in under ``min_seconds`` (the warm-up guessed a rate too
    low, as a busy machine makes it do) starts the rounds over with a larger count, the earlier
    ones becoming warm-up; at most MAX_RECOUNTS times, so a run always ends.
    """
    label = rounds.size_label(size)
    with running([baseline_server(work_dir), reference_server(work_dir)]) as servers:
        if not any(server.name == REFERENCE for server in servers):
            report.notes.append(f"{label}: the reference server did not start; baseline only")
        acknowledged = dict.fromkeys((server.name for server in servers), 0)
        rates = []
        for server in servers:
            warmup = load(server, plan, size, plan.max_messages, plan.warmup_seconds)
            acknowledged[server.name] += warmup.sent
            rates.append(warmup.msgs_per_s)
            rounds.progress(f"warm-up {server.name:<17} {label:>8}: {warmup.msgs_per_s:9.1f} msgs/s")
        messages = plan.message_count(rates)
        kept: list[list[Measurement]] = []
        recounts = 0
        while len(kept) < plan.repeat:
            order = servers if len(kept) % 2 == 0 else servers[::-1]
            this_round = []
            for server in order:
                result = load(server, plan, size, messages, plan.run_limit)
                acknowledged[server.name] += result.sent
                rates.append(result.msgs_per_s)
                this_round.append(Measurement(server.name, size, len(kept), messages, result))
                rounds.progress(
                    f"round {len(kept) + 1} {server.name:<17} {label:>8}: {result.msgs_per_s:9.1f} msgs/s, "
                    f"{result.sent}/{messages} in {result.seconds:.2f} s, {result.failed} failed"
                )
            shortest = min(measurement.result.seconds for measurement in this_round)
            if shortest < plan.min_seconds and recounts < MAX_RECOUNTS and messages < plan.max_messages:
                recounts += 1
                messages = max(messages + 1, plan.message_count(rates))
                kept.clear()  # every kept round must have the same count
                rounds.progress(f"a run took {shortest:.2f} s: rounds start over with {messages}")
                continue
            kept.append(this_round)
        for measurement in (m for this_round in kept for m in this_round):
            report.measurements.append(measurement)
            if measurement.result.sent < messages:
                report.notes.append(
                    f"{measurement.server} {label} round {measurement.round + 1}: {measurement.result.sent} "
                    f"of {messages} sent, {measurement.result.failed} failed, limit {plan.run_limit:g} s"
                )
        for server in servers:
            stored = server.stored_messages()
            expected = acknowledged[server.name]
            counts = {"acknowledged": expected, "stored": stored}
            report.stored.append({"server": server.name, "size": size} | counts)
            if stored != expected:
                report.notes.append(f"{server.name} {label}: {expected} acknowledged, {stored} on disk")


def measure_memory(plan: Plan, size: int, work_dir: Path, report: Report) -> None:
    """One large message to each fresh server; peak RSS growth over the message size."""
    for make in (reference_server, baseline_server):
        with running([make(work_dir)]) as servers:
            for server in servers:
                try:
                    load(server, plan, MEMORY_PROBE_OCTETS, 1, plan.run_limit, single=True)
                    before = peak_rss_octets(server.pid)
                    result = load(server, plan, size, 1, plan.run_limit, single=True)
                    after = peak_rss_octets(server.pid)
                except (LoadError, OSError, ValueError) as error:
                    report.notes.append(f"memory check on {server.name} failed: {error}")
                    continue
                growth = max(0, after - before) / size
                accepted = result.sent == 1
                entry: dict[str, object] = {
                    "message_octets": size,
                    "accepted": accepted,
                    "errors": dict(result.errors),
                    "peak_rss_before": before,
                    "peak_rss_after": after,
                    "growth_ratio": round(growth, 3),
                }
                if server.name == REFERENCE:
                    entry |= {"target": MEMORY_TARGET, "met": accepted and growth < MEMORY_TARGET}
                report.memory[server.name] = entry
                refusal = "" if accepted else f" (not accepted: {dict(result.errors)})"
                rounds.progress(
                    f"memory {server.name:<17} {rounds.size_label(size)}: peak RSS {before / 2**20:.1f} -> "
                    f"{after / 2**20:.1f} MiB, growth {growth:.2f}x the message{refusal}"
                )


def render_table(report: Report, sizes: Sequence[int]) -> str:
    settings = report.settings
    mode = "pipelined" if settings["pipelining"] else "lockstep"
    title = f"SMTP, {settings['connections']} connections, {mode}, median of {settings['repeat']} rounds"
    medians = report.medians(sizes, SERVERS)
    rows = [TABLE_ROW.format(size_label=rounds.size_label(m.size), **m.as_dict()) for m in medians]
    footer = []
    ratios = report.ratios(sizes)
    if ratios:
        shown = ", ".join(f"{rounds.size_label(int(size))} {entry['ratio']}x" for size, entry in ratios.items())
        footer.append(f"msgs/s, reference / {BASELINE}: {shown} (target >= {TARGET_RATIO:g}x)")
    for name, entry in report.memory.items():
        target = f" (target < {MEMORY_TARGET:g}x)" if name == REFERENCE else ""
        footer.append(f"peak RSS growth / message size, {name}: {entry['growth_ratio']}x{target}")
    return report.table_text(title, TABLE_HEADING, rows, footer)


def main(argv: Sequence[str] | None = None) -> int:
    plan = _plan(argv)
    plan.settle()
    with plan.scratch_dir("smtp-bench-") as work_dir:
        report = Report(settings=plan.settings(), machine=rounds.machine_info(work_dir))
        filesystem = report.machine["filesystem"]
        if filesystem in RAM_FILESYSTEMS:
            report.notes.append(f"{work_dir} is on {filesystem}: fsync costs nothing there; use --work-dir")
        probe_dir = work_dir / "creation-probe"
        probe_dir.mkdir()
        creation = report.machine["file_create_us"] = rounds.file_creation_micros(probe_dir)
        rounds.progress(f"creating a file takes {creation} us here now")
        if creation > SLOW_FILE_CREATION_MICROS:
            report.notes.append(
                f"creating a file took {creation} us before the run (over {SLOW_FILE_CREATION_MICROS} us): the file "
                "system is slow to create files right now, likely after recent deletions; both servers create a "
                "file per message, so the rates measure that more than the servers; run again later"
            )
        try:
            for size in plan.sizes:
                measure_size(plan, work_dir, size, report)
            if plan.memory_size is not None:
                measure_memory(plan, plan.memory_size, work_dir, report)
        except (LoadError, OSError) as error:
            print(f"run_smtp: {error}", file=sys.stderr)
            return 1
    plan.publish(report.as_dict(plan.sizes), render_table(report, plan.sizes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
