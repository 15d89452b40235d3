"""Targets: the server under test, as host:port endpoints plus what a transcript needs to know.

The harness knows only endpoints; whether they belong to the embedded reference server
(started here on free loopback ports, one per xdist worker) or to someone's Postfix is
decided once, in this module, from the command line and an optional target.toml.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from harness.transcript.model import PROTOCOLS
from reference_server.config import DEFAULT_CONFIG_TOML

TLS_MODES: Final = ("plain", "starttls", "implicit")
REFERENCE_START_TIMEOUT: Final = 30.0
REFERENCE_STOP_TIMEOUT: Final = 10.0
REFERENCE_RELAY_DOMAIN: Final = "relay.test"  # what the reference server routes to the capture hop
REFERENCE_LEGACY_DOMAIN: Final = "legacy.test"
REFERENCE_RETRY_INITIAL: Final = 0.5  # seconds: a relay case sees the retry after a 4xx within seconds
REFERENCE_RETRY_MAX: Final = 2.0
REFERENCE_DEFAULT_TLS: Final = {
    "smtp": "starttls",
    "submission": "starttls",
    "pop3": "starttls",
    "imap": "starttls",
}


class TargetError(ValueError):
    """A target description is unusable; the message names where and why, in one line."""


@dataclass(frozen=True)
class Endpoint:
    protocol: str
    host: str
    port: int
    tls: str  # plain | starttls | implicit

    def __str__(self) -> str:
        return f"{self.protocol} {self.host}:{self.port} ({self.tls})"


@dataclass(frozen=True)
class Account:
    login: str
    password: str
    address: str


@dataclass(frozen=True)
class RelaySetup:
    """Where the harness's capture next hop listens and which domains the target routes there.

    Relay cases submit mail for `domain` and `legacy_domain` and look at what arrives at the
    hop: `capture` announces the usual extensions, `legacy_capture` none at all.
    """

    domain: str
    legacy_domain: str
    capture: tuple[str, int]
    legacy_capture: tuple[str, int]


@dataclass(frozen=True)
class Target:
    name: str
    endpoints: Mapping[str, Endpoint]
    domain: str
    accounts: Mapping[str, Account]
    unknown_address: str
    foreign_address: str
    server_name: str | None = None  # TLS SNI / certificate name
    ca_file: str | None = None
    verify_tls: bool = False
    capability_overrides: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    client_name: str = "client.mailconform.test"
    run_id: str = field(default_factory=lambda: secrets.token_hex(4))
    step_timeout: float = 10.0
    fixture_settle: float = 0.0  # seconds to wait after a fixture delivery's 250 (queueing MTAs deliver later)
    relay: RelaySetup | None = None  # a capture next hop for relay cases; None: they are skipped

    def variables(self) -> dict[str, str]:
        """The variables every transcript may use (see harness.transcript.parser.TARGET_VARIABLES)."""
        values = {
            "domain": self.domain,
            "hostname": self.server_name or next(iter(self.endpoints.values())).host,
            "client": self.client_name,
            "unknown": self.unknown_address,
            "foreign": self.foreign_address,
            "run": self.run_id,
        }
        if self.relay is not None:
            values["relay_domain"] = self.relay.domain
            values["legacy_domain"] = self.relay.legacy_domain
        for role, account in self.accounts.items():
            values[role] = account.address
            values[f"{role}_login"] = account.login
            values[f"{role}_password"] = account.password
        return values

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "endpoints": {p: f"{e.host}:{e.port} ({e.tls})" for p, e in self.endpoints.items()},
        }


def parse_hostport(text: str, where: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise TargetError(f"{where}: expected HOST:PORT, got {text!r}")
    return host, int(port)


def external_target(
    endpoints: Mapping[str, str],
    tls: str | None = None,
    target_file: Path | None = None,
) -> Target:
    """A server someone else runs: endpoints from the command line and/or target.toml."""
    config: dict[str, Any] = {}
    if target_file is not None:
        config = _load_toml(target_file)
    where = str(target_file) if target_file else "command line"
    tls_mode = tls or config.get("tls", "plain")
    if tls_mode not in TLS_MODES:
        raise TargetError(f"{where}: tls must be one of {', '.join(TLS_MODES)}, not {tls_mode!r}")
    merged: dict[str, str] = dict(config.get("endpoints", {}))
    merged.update({p: e for p, e in endpoints.items() if e})
    resolved: dict[str, Endpoint] = {}
    for protocol, value in merged.items():
        if protocol not in PROTOCOLS:
            raise TargetError(f"{where}: [endpoints] {protocol}: not one of {', '.join(PROTOCOLS)}")
        if not isinstance(value, str):
            raise TargetError(f'{where}: [endpoints] {protocol}: expected "HOST:PORT"')
        host, port = parse_hostport(value, f"{where}: {protocol}")
        mode = config.get("tls_per_protocol", {}).get(protocol, tls_mode)
        resolved[protocol] = Endpoint(protocol, host, port, mode)
    if not resolved:
        raise TargetError("no endpoint given: use --smtp/--submission/--pop3/--imap HOST:PORT or --target-file")
    domain = _str(config, "domain", "example.test", where)
    accounts = _accounts(config.get("accounts", {}), domain, where)
    caps = config.get("capabilities", {})
    if not isinstance(caps, dict) or not all(isinstance(v, list) for v in caps.values()):
        raise TargetError(f'{where}: [capabilities] maps a protocol to a list like ["-CHUNKING", "+SIZE"]')
    settle = config.get("fixture_settle", 0.0)
    if not isinstance(settle, int | float) or not 0 <= settle <= 60:
        raise TargetError(f"{where}: fixture_settle must be a number of seconds from 0 to 60")
    timeout = config.get("step_timeout", 10.0)
    if not isinstance(timeout, int | float) or timeout <= 0:
        raise TargetError(f"{where}: step_timeout must be a positive number of seconds")
    return Target(
        name=_str(config, "name", "external", where),
        endpoints=resolved,
        domain=domain,
        accounts=accounts,
        unknown_address=_str(config, "unknown", f"no-such-user-mailconform@{domain}", where),
        foreign_address=_str(config, "foreign", "someone@elsewhere.invalid", where),
        server_name=config.get("server_name"),
        ca_file=config.get("ca_file"),
        verify_tls=bool(config.get("verify_tls", False)),
        capability_overrides={p: tuple(v) for p, v in caps.items()},
        step_timeout=float(timeout),
        fixture_settle=float(settle),
        relay=_relay_setup(config.get("relay"), where),
    )


RELAY_KEYS: Final = ("domain", "legacy_domain", "capture", "legacy_capture")


def _relay_setup(raw: Any, where: str) -> RelaySetup | None:
    """`[relay]` of a target file: the domains the operator routes to the harness's capture hop."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise TargetError(f"{where}: [relay] must be a table with {', '.join(RELAY_KEYS)}")
    unknown = sorted(set(raw) - set(RELAY_KEYS))
    if unknown:
        raise TargetError(f"{where}: [relay] unknown key {unknown[0]!r} (known: {', '.join(RELAY_KEYS)})")
    missing = [key for key in RELAY_KEYS if key not in raw]
    if missing:
        raise TargetError(f"{where}: [relay] {missing[0]} is required")
    domain = _str(raw, "domain", "", f"{where}: [relay]")
    legacy = _str(raw, "legacy_domain", "", f"{where}: [relay]")
    if domain.casefold() == legacy.casefold():
        raise TargetError(f"{where}: [relay] domain and legacy_domain must differ")
    capture = parse_hostport(_str(raw, "capture", "", f"{where}: [relay]"), f"{where}: [relay] capture")
    legacy_capture = parse_hostport(
        _str(raw, "legacy_capture", "", f"{where}: [relay]"), f"{where}: [relay] legacy_capture"
    )
    if capture == legacy_capture:
        raise TargetError(f"{where}: [relay] capture and legacy_capture must be different addresses")
    return RelaySetup(domain, legacy, capture, legacy_capture)


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise TargetError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise TargetError(f"{path}: {exc}") from None


def _str(config: Mapping[str, Any], key: str, default: str, where: str) -> str:
    value = config.get(key, default)
    if not isinstance(value, str) or not value:
        raise TargetError(f"{where}: {key} must be a non-empty string")
    return value


def _accounts(raw: Any, domain: str, where: str) -> dict[str, Account]:
    defaults = {"alice": ("alice", "alicepw"), "bob": ("bob", "bobpw")}
    if not isinstance(raw, dict):
        raise TargetError(f"{where}: [accounts] must be tables [accounts.alice] and [accounts.bob]")
    accounts: dict[str, Account] = {}
    for role, (login, password) in defaults.items():
        entry = raw.get(role, {})
        if not isinstance(entry, dict):
            raise TargetError(f"{where}: [accounts.{role}] must be a table")
        unknown = set(entry) - {"login", "password", "address"}
        if unknown:
            raise TargetError(f"{where}: [accounts.{role}] unknown key {sorted(unknown)[0]!r}")
        login_value = entry.get("login", login)
        accounts[role] = Account(
            login=login_value,
            password=entry.get("password", password),
            address=entry.get("address", f"{login_value}@{domain}"),
        )
    return accounts


class ReferenceServer:
    """The embedded reference server as a child process on free loopback ports.

    A child rather than in-process: a server fault must never take the harness down
    with it, and each xdist worker gets a server, mail root and ports of its own.
    """

    def __init__(
        self, faults: Sequence[str] = (), mail_root: Path | None = None, relay: RelaySetup | None = None
    ) -> None:
        self.faults = tuple(faults)
        self.relay = relay
        self._tmp = tempfile.TemporaryDirectory(prefix="mailconform-ref-")
        self.mail_root = mail_root or Path(self._tmp.name) / "mail"
        self.ready_file = Path(self._tmp.name) / "ready.json"
        self.stderr_path = Path(self._tmp.name) / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Target:
        command = [
            sys.executable,
            "-m",
            "reference_server",
            "serve",
            "--any-port",
            "--ready-file",
            str(self.ready_file),
            "--mail-root",
            str(self.mail_root),
        ]
        if self.relay is not None:
            config = Path(self._tmp.name) / "server.toml"
            config.write_text(reference_config(self.relay), encoding="utf-8")
            command += ["--config", str(config)]
        for fault in self.faults:
            command += ["--fault", fault]
        root = Path(__file__).resolve().parent.parent
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])))
        with self.stderr_path.open("wb") as stderr:
            self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, env=env)
        deadline = time.monotonic() + REFERENCE_START_TIMEOUT
        while not self.ready_file.exists():
            if self.process.poll() is not None:
                raise TargetError(f"the reference server exited at start: {self._log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise TargetError(f"the reference server did not start in {REFERENCE_START_TIMEOUT:g} s")
            time.sleep(0.02)
        ready = json.loads(self.ready_file.read_text())
        endpoints = {
            name: Endpoint(name, info["host"], int(info["port"]), _harness_tls(info.get("tls", "none")))
            for name, info in ready["listeners"].items()
            if name in PROTOCOLS
        }
        domain = ready.get("domains", ["example.test"])[0]
        return Target(
            name="reference" + (f" (faults: {', '.join(self.faults)})" if self.faults else ""),
            endpoints=endpoints,
            domain=domain,
            accounts=_accounts({}, domain, "reference"),
            unknown_address=f"no-such-user@{domain}",
            foreign_address="someone@elsewhere.invalid",
            server_name=ready.get("hostname"),
            relay=self.relay,
        )

    def _log_tail(self) -> str:
        try:
            lines = self.stderr_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(lines[-3:]) or "(no output)"

    def stop(self) -> None:
        process = self.process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(REFERENCE_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.process = None
        self._tmp.cleanup()


def reference_config(relay: RelaySetup) -> str:
    """The reference server's configuration when it relays to the capture hop.

    The same domain and accounts as its embedded default (`mailconform serve` without
    --config), default listeners (moved to free ports by --any-port), and routes for the
    two test domains to the hop. Retries come after fractions of a second, so a case sees
    the retry after a 4xx at once (RFC 5321 §4.5.4.1: the parameters MUST be configurable).
    """

    def route(address: tuple[str, int]) -> str:
        host = f"[{address[0]}]" if ":" in address[0] else address[0]
        return json.dumps(f"{host}:{address[1]}")

    routes = (
        f"{json.dumps(relay.domain)} = {route(relay.capture)}, "
        f"{json.dumps(relay.legacy_domain)} = {route(relay.legacy_capture)}"
    )
    relay_section = f"""\
[relay]
routes = {{ {routes} }}
retry_initial = {REFERENCE_RETRY_INITIAL}
retry_max = {REFERENCE_RETRY_MAX}
connect_timeout = 5
command_timeout = 10
"""
    default, empty_relay = DEFAULT_CONFIG_TOML.rsplit("[relay]\n", 1)
    if empty_relay.strip() != "routes = {}":
        raise TargetError("the embedded default configuration no longer ends with an empty [relay] section")
    return default + relay_section


def _harness_tls(server_mode: str) -> str:
    return {"none": "plain", "starttls": "starttls", "implicit": "implicit"}.get(server_mode, "plain")
