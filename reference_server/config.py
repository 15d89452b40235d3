"""The server configuration: one TOML file, checked completely before anything starts.

Every mistake is reported as one line naming the file, the section and the key --
``server.toml: [limits] max_recipients: must be an integer >= 1`` -- or the file and line
for TOML syntax errors, so that ``serve`` can print it and exit 2 without a traceback.
The embedded default (`DEFAULT_CONFIG_TOML`) is itself parsed by the same code.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from reference_server.accounts import (
    Account,
    Accounts,
    PasswordHashError,
    hash_password,
    parse_password_hash,
    split_address,
)
from reference_server.smtp.data import TEXT_LINE_MAX
from reference_server.smtp.parsing import (
    CommandSyntaxError,
    check_address_literal,
    parse_ehlo_argument,
    parse_rcpt_argument,
)
from reference_server.smtp.state import RECEIVED_MAX_DEFAULT, RECIPIENTS_MIN
from reference_server.storage.api import DEFAULT_FLUSH_METHOD, FLUSH_METHODS

PROTOCOLS: Final = ("smtp", "submission", "pop3", "imap")
TLS_MODES: Final = ("none", "starttls", "implicit")
DEFAULT_PORTS: Final[Mapping[str, int]] = {"smtp": 2525, "submission": 2587, "pop3": 2110, "imap": 2143}

DEFAULT_MAX_SESSIONS: Final = 100
DEFAULT_MAX_MESSAGE_SIZE: Final = 50 * 1024 * 1024  # RFC 5321 §4.5.3.1.7: at least 64K; SIZE advertises it
DEFAULT_COMMAND_TIMEOUT: Final = 300.0  # RFC 5321 §4.5.3.2.2/.3: 5 minutes for MAIL and RCPT
DEFAULT_DATA_TIMEOUT: Final = 300.0  # RFC 5321 §4.5.3.2.5: at least 3 minutes per data block
DEFAULT_IDLE_TIMEOUT: Final = 300.0  # RFC 5321 §4.5.3.2.7: server timeout at least 5 minutes
DEFAULT_MAX_BAD_COMMANDS: Final = 20
POP3_AUTOLOGOUT_MIN: Final = 600.0  # RFC 1939 §3: an autologout timer "MUST be of at least 10 minutes"
DEFAULT_FAILED_LOGIN_DELAY: Final = 1.0  # seconds before a POP3 login failure is answered
DEFAULT_RETRY_INITIAL: Final = 60.0  # seconds before the first retry of a deferred relay recipient
DEFAULT_RETRY_MAX: Final = 3600.0  # cap of the exponential backoff
DEFAULT_QUEUE_LIFETIME: Final = 432000.0  # RFC 5321 §4.5.4.1: give up after at least 4-5 days
DEFAULT_RELAY_CONNECT_TIMEOUT: Final = 30.0
DEFAULT_RELAY_COMMAND_TIMEOUT: Final = 300.0  # RFC 5321 §4.5.3.2: 5 minutes for most replies
DEFAULT_MAX_RECEIVED: Final = RECEIVED_MAX_DEFAULT  # RFC 5321 §6.3 loop detection threshold
DEFAULT_RELAY_CONCURRENCY: Final = 10
RELAY_TLS_MODES: Final = ("none", "opportunistic", "required")
DEFAULT_ROUTE: Final = "*"  # the [relay] routes key for every domain without a route of its own

DEFAULT_CONFIG_TOML: Final = """\
domains = ["example.test"]

[server]
hostname = "mail.example.test"
# mail_root = "/var/tmp/mailconform"   # default: a fresh temporary folder
# postmaster = "alice"                 # default: the first account
# flush = "syncfs"                     # "syncfs": one disk flush per batch of deliveries; "fsync": per file

[[accounts]]
login = "alice"
addresses = ["alice@example.test"]
password = "alicepw"

[[accounts]]
login = "bob"
addresses = ["bob@example.test"]
password = "bobpw"

[[listeners]]
name = "smtp"
protocol = "smtp"
host = "127.0.0.1"
port = 2525
tls = "starttls"

[[listeners]]
name = "submission"
protocol = "submission"
host = "127.0.0.1"
port = 2587
tls = "starttls"

[[listeners]]
name = "pop3"
protocol = "pop3"
host = "127.0.0.1"
port = 2110
tls = "starttls"

[[listeners]]
name = "imap"
protocol = "imap"
host = "127.0.0.1"
port = 2143
tls = "starttls"

[limits]
max_sessions = 100
max_message_size = 52428800
max_recipients = 100
command_timeout = 300
data_timeout = 300
idle_timeout = 300
max_bad_commands = 20

[smtp]
bare_lf = "reject"
auth_requires_tls = true
vrfy = "answer"
expn = "answer"

[pop3]
login_requires_tls = true
autologout = 600
failed_login_delay = 1

[relay]
routes = {}
"""


class ConfigError(Exception):
    """A configuration problem; str() is the one line to print."""


@dataclass(frozen=True)
class ListenerConfig:
    name: str
    protocol: str  # one of PROTOCOLS
    host: str
    port: int
    tls: str  # one of TLS_MODES


@dataclass(frozen=True)
class Limits:
    max_sessions: int = DEFAULT_MAX_SESSIONS
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE  # 0: no fixed limit
    max_recipients: int = RECIPIENTS_MIN
    command_timeout: float = DEFAULT_COMMAND_TIMEOUT
    data_timeout: float = DEFAULT_DATA_TIMEOUT
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    max_bad_commands: int = DEFAULT_MAX_BAD_COMMANDS


@dataclass(frozen=True)
class SmtpConfig:
    bare_lf: str = "reject"  # "reject" | "accept"
    auth_requires_tls: bool = True
    vrfy: str = "answer"  # "answer" | "refuse"
    expn: str = "answer"  # "answer" | "refuse"
    eight_bit_mime: bool = True  # false: a 7bit-only server (no 8BITMIME, BINARYMIME, SMTPUTF8)


@dataclass(frozen=True)
class Pop3Config:
    login_requires_tls: bool = True  # USER/PASS and AUTH PLAIN only under TLS (RFC 2595 §2.3, RFC 5034 §4)
    autologout: float = POP3_AUTOLOGOUT_MIN
    failed_login_delay: float = DEFAULT_FAILED_LOGIN_DELAY


@dataclass(frozen=True)
class RelayConfig:
    """The outgoing queue: where mail for other domains goes and how hard to try."""

    routes: Mapping[str, tuple[str, int]] = field(default_factory=dict)  # domain or "*" -> (host, port)
    mx: bool = False  # domains without a route are looked up in DNS
    retry_initial: float = DEFAULT_RETRY_INITIAL
    retry_max: float = DEFAULT_RETRY_MAX
    lifetime: float = DEFAULT_QUEUE_LIFETIME
    connect_timeout: float = DEFAULT_RELAY_CONNECT_TIMEOUT
    command_timeout: float = DEFAULT_RELAY_COMMAND_TIMEOUT
    tls: str = "opportunistic"  # one of RELAY_TLS_MODES
    max_received: int = DEFAULT_MAX_RECEIVED
    concurrency: int = DEFAULT_RELAY_CONCURRENCY

    @property
    def enabled(self) -> bool:
        """Relaying for authenticated clients is on when some domain can be routed."""
        return bool(self.routes) or self.mx


@dataclass(frozen=True)
class TlsConfig:
    cert_file: Path | None = None
    key_file: Path | None = None


@dataclass(frozen=True)
class ServerConfig:
    hostname: str
    domains: tuple[str, ...]
    accounts: tuple[Account, ...]
    listeners: tuple[ListenerConfig, ...]
    mail_root: Path | None = None
    postmaster: str | None = None
    flush: str = DEFAULT_FLUSH_METHOD  # storage/flush.py: how deliveries are made durable
    limits: Limits = field(default_factory=Limits)
    tls: TlsConfig = field(default_factory=TlsConfig)
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    pop3: Pop3Config = field(default_factory=Pop3Config)
    # login -> plain password, only for accounts configured with `password` (APOP needs the secret)
    apop_secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    relay_routes: Mapping[str, tuple[str, int]] = field(default_factory=dict)  # the same as relay.routes
    relay: RelayConfig = field(default_factory=RelayConfig)
    source: str = "<default>"

    def directory(self) -> Accounts:
        return Accounts(self.accounts, self.domains, self.postmaster)


class _Table:
    """Typed access to one TOML table that remembers which keys were used."""

    def __init__(self, data: object, label: str, source: str) -> None:
        self.label = label
        self.source = source
        if not isinstance(data, dict):
            raise self.error(None, "must be a table")
        self.data: dict[str, object] = data
        self.used: set[str] = set()

    def error(self, key: str | None, problem: str) -> ConfigError:
        where = f"[{self.label}] {key}" if key else f"[{self.label}]"
        return ConfigError(f"{self.source}: {where}: {problem}")

    def get(self, key: str) -> object:
        self.used.add(key)
        return self.data.get(key)

    def string(self, key: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = self.get(key)
        if value is None:
            if required:
                raise self.error(key, "is required")
            return default
        if not isinstance(value, str) or not value:
            raise self.error(key, "must be a non-empty string")
        return value

    def choice(self, key: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.string(key, default)
        if value not in choices:
            raise self.error(key, f"must be one of {', '.join(repr(c) for c in choices)}")
        return value

    def integer(self, key: str, default: int, minimum: int, maximum: int | None = None) -> int:
        value = self.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.error(key, f"must be an integer >= {minimum}")
        if maximum is not None and value > maximum:
            raise self.error(key, f"must be an integer <= {maximum}")
        return value

    def seconds(self, key: str, default: float) -> float:
        value = self.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise self.error(key, "must be a number of seconds > 0")
        return float(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(key, "must be true or false")
        return value

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise self.error(unknown[0], "unknown key")


def _tables(value: object, label: str, source: str) -> list[_Table]:
    if not isinstance(value, list):
        raise ConfigError(f"{source}: [{label}]: must be an array of tables ([[{label}]])")
    return [_Table(item, f"{label} #{index}", source) for index, item in enumerate(value, 1)]


def _check_domain(table: _Table, key: str, value: str) -> str:
    try:
        parse_ehlo_argument(value.encode("utf-8"), allow_literal=False)
    except CommandSyntaxError:
        raise table.error(key, f"{value!r} is not a valid domain name (RFC 5321 §4.1.2)") from None
    return value.lower()


def _domains(top: _Table) -> tuple[str, ...]:
    value = top.get("domains")
    if value is None:
        raise top.error("domains", "at least one local domain is required")
    names: list[str] = []
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        names = [item for item in value if isinstance(item, str)]
    else:
        for table in _tables(value, "domains", top.source):
            name = table.string("name", required=True)
            assert name is not None
            names.append(name)
            table.finish()
    if not names:
        raise top.error("domains", "at least one local domain is required")
    domains = [_check_domain(top, "domains", name) for name in names]
    if len(set(domains)) != len(domains):
        raise top.error("domains", "a domain is listed twice")
    return tuple(domains)


def _check_address(table: _Table, key: str, address: str, domains: tuple[str, ...]) -> str:
    try:
        path, params = parse_rcpt_argument(f"TO:<{address}>".encode())
    except CommandSyntaxError as exc:
        raise table.error(key, f"{address!r}: {exc.reason} (RFC 5321 §4.1.2)") from None
    if params or path.source_route or path.mailbox is None or not path.mailbox.domain:
        raise table.error(key, f"{address!r} must be a plain local-part@domain")
    local, domain = split_address(address)
    if domain not in domains:
        raise table.error(key, f"{address!r} is not in a configured domain")
    return f"{local}@{domain}"


def _accounts(
    value: object, domains: tuple[str, ...], source: str, plain_passwords: dict[str, str] | None = None
) -> tuple[Account, ...]:
    """The accounts; logins with a plain `password` are also put into `plain_passwords`."""
    if value is None:
        return ()
    accounts: list[Account] = []
    seen_logins: set[str] = set()
    seen_addresses: set[str] = set()
    for table in _tables(value, "accounts", source):
        login = table.string("login", required=True)
        assert login is not None
        if any(char.isspace() or char == "\x00" for char in login):
            raise table.error("login", "must not contain white space or NUL")
        if login in seen_logins:
            raise table.error("login", f"{login!r} is used twice")
        seen_logins.add(login)
        has_one, has_many = "address" in table.data, "addresses" in table.data
        key = "address" if has_one else "addresses"
        raw = [table.get("address")] if has_one else table.get("addresses")
        if has_one == has_many or not isinstance(raw, list) or not raw or not all(isinstance(a, str) for a in raw):
            raise table.error(key, 'give either address = "..." or addresses = ["...", ...]')
        addresses = tuple(_check_address(table, key, a, domains) for a in raw if isinstance(a, str))
        for address in addresses:
            if address.casefold() in seen_addresses:
                raise table.error(key, f"{address!r} is given to two accounts")
            seen_addresses.add(address.casefold())
        stored = table.string("password_hash")
        plain = table.string("password")
        if (stored is None) == (plain is None):
            raise table.error("password_hash", "give exactly one of password_hash or password")
        if stored is not None:
            try:
                parse_password_hash(stored)
            except PasswordHashError as exc:
                raise table.error("password_hash", str(exc)) from None
        else:
            assert plain is not None
            stored = hash_password(plain)
            if plain_passwords is not None:
                plain_passwords[login] = plain
        table.finish()
        accounts.append(Account(login, addresses, stored))
    return tuple(accounts)


def _listeners(value: object, source: str) -> tuple[ListenerConfig, ...]:
    listeners: list[ListenerConfig] = []
    names: set[str] = set()
    for table in _tables(value, "listeners", source):
        protocol = table.string("protocol", required=True)
        if protocol not in PROTOCOLS:
            raise table.error("protocol", f"must be one of {', '.join(PROTOCOLS)}")
        name = table.string("name", protocol)
        assert name is not None
        if name in names:
            raise table.error("name", f"{name!r} is used twice")
        names.add(name)
        host = table.string("host", "127.0.0.1")
        assert host is not None
        port = table.integer("port", DEFAULT_PORTS[protocol], 0, 65535)
        tls = table.choice("tls", "starttls", TLS_MODES)
        table.finish()
        listeners.append(ListenerConfig(name, protocol, host, port, tls))
    return tuple(listeners)


def _limits(table: _Table) -> Limits:
    limits = Limits(
        max_sessions=table.integer("max_sessions", DEFAULT_MAX_SESSIONS, 1),
        max_message_size=table.integer("max_message_size", DEFAULT_MAX_MESSAGE_SIZE, 0),
        max_recipients=table.integer("max_recipients", RECIPIENTS_MIN, 1),
        command_timeout=table.seconds("command_timeout", DEFAULT_COMMAND_TIMEOUT),
        data_timeout=table.seconds("data_timeout", DEFAULT_DATA_TIMEOUT),
        idle_timeout=table.seconds("idle_timeout", DEFAULT_IDLE_TIMEOUT),
        max_bad_commands=table.integer("max_bad_commands", DEFAULT_MAX_BAD_COMMANDS, 1),
    )
    if 0 < limits.max_message_size < TEXT_LINE_MAX:
        raise table.error("max_message_size", f"must be 0 (no limit) or at least {TEXT_LINE_MAX}")
    table.finish()
    return limits


def _path(table: _Table, key: str, base: Path) -> Path | None:
    value = table.string(key)
    return None if value is None else (base / value).expanduser()


def _tls(table: _Table, base: Path) -> TlsConfig:
    cert = _path(table, "cert_file", base)
    key = _path(table, "key_file", base)
    table.finish()
    if (cert is None) != (key is None):
        raise table.error("cert_file" if cert is None else "key_file", "cert_file and key_file go together")
    for name, path in (("cert_file", cert), ("key_file", key)):
        if path is not None and not path.is_file():
            raise table.error(name, f"{path} is not a readable file")
    return TlsConfig(cert, key)


def _pop3(table: _Table) -> Pop3Config:
    autologout = table.seconds("autologout", POP3_AUTOLOGOUT_MIN)
    if autologout < POP3_AUTOLOGOUT_MIN:
        raise table.error("autologout", f"must be at least {POP3_AUTOLOGOUT_MIN:g} seconds (RFC 1939 §3)")
    delay = table.get("failed_login_delay")
    if delay is None:
        delay = DEFAULT_FAILED_LOGIN_DELAY
    if isinstance(delay, bool) or not isinstance(delay, int | float) or not 0 <= delay <= 60:
        raise table.error("failed_login_delay", "must be a number of seconds from 0 to 60")
    config = Pop3Config(
        login_requires_tls=table.boolean("login_requires_tls", True),
        autologout=autologout,
        failed_login_delay=float(delay),
    )
    table.finish()
    return config


def _smtp(table: _Table) -> SmtpConfig:
    config = SmtpConfig(
        bare_lf=table.choice("bare_lf", "reject", ("reject", "accept")),
        auth_requires_tls=table.boolean("auth_requires_tls", True),
        vrfy=table.choice("vrfy", "answer", ("answer", "refuse")),
        expn=table.choice("expn", "answer", ("answer", "refuse")),
        eight_bit_mime=table.boolean("eight_bit_mime", True),
    )
    table.finish()
    return config


_HOST_PORT: Final = re.compile(r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(?P<port>\d{1,5})")


def _route_key(table: _Table, domain: str) -> str:
    """A routes key: "*", a domain name, or an address literal such as "[192.0.2.1]"."""
    if domain == DEFAULT_ROUTE:
        return domain
    if domain.startswith("["):
        try:
            check_address_literal(domain)
        except CommandSyntaxError:
            raise table.error("routes", f"{domain!r} is not a valid address literal (RFC 5321 §4.1.3)") from None
        return domain.lower()
    return _check_domain(table, "routes", domain)


def _routes(table: _Table) -> dict[str, tuple[str, int]]:
    value = table.get("routes")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise table.error("routes", 'must be a table of "domain" = "host:port"')
    routes: dict[str, tuple[str, int]] = {}
    for domain, target in value.items():
        match = _HOST_PORT.fullmatch(target) if isinstance(target, str) else None
        if match is None or not 0 < int(match["port"]) <= 65535:
            raise table.error("routes", f'{domain!r}: expected "host:port", got {target!r}')
        routes[_route_key(table, domain)] = (match["host"].strip("[]"), int(match["port"]))
    return routes


def _relay(table: _Table) -> RelayConfig:
    config = RelayConfig(
        routes=_routes(table),
        mx=table.boolean("mx", False),
        retry_initial=table.seconds("retry_initial", DEFAULT_RETRY_INITIAL),
        retry_max=table.seconds("retry_max", DEFAULT_RETRY_MAX),
        lifetime=table.seconds("lifetime", DEFAULT_QUEUE_LIFETIME),
        connect_timeout=table.seconds("connect_timeout", DEFAULT_RELAY_CONNECT_TIMEOUT),
        command_timeout=table.seconds("command_timeout", DEFAULT_RELAY_COMMAND_TIMEOUT),
        tls=table.choice("tls", "opportunistic", RELAY_TLS_MODES),
        max_received=table.integer("max_received", DEFAULT_MAX_RECEIVED, 1),
        concurrency=table.integer("concurrency", DEFAULT_RELAY_CONCURRENCY, 1),
    )
    table.finish()
    if config.retry_max < config.retry_initial:
        raise table.error("retry_max", f"must be at least retry_initial ({config.retry_initial:g})")
    return config


_SECTIONS: Final = frozenset({"server", "domains", "accounts", "listeners", "limits", "tls", "smtp", "pop3", "relay"})


def parse_config(data: Mapping[str, object], source: str, base_dir: Path | None = None) -> ServerConfig:
    """Build and check a ServerConfig from parsed TOML; relative paths resolve against `base_dir`."""
    base = base_dir if base_dir is not None else Path.cwd()
    unknown = sorted(set(data) - _SECTIONS)
    if unknown:
        raise ConfigError(f"{source}: [{unknown[0]}]: unknown section (known: {', '.join(sorted(_SECTIONS))})")
    top = _Table(dict(data), "top level", source)
    domains = _domains(top)
    server = _Table(data.get("server", {}), "server", source)
    hostname = server.string("hostname", "mail.example.test")
    assert hostname is not None
    hostname = _check_domain(server, "hostname", hostname)
    mail_root = _path(server, "mail_root", base)
    postmaster = server.string("postmaster")
    flush = server.choice("flush", DEFAULT_FLUSH_METHOD, FLUSH_METHODS)
    server.finish()
    plain_passwords: dict[str, str] = {}
    accounts = _accounts(data.get("accounts"), domains, source, plain_passwords)
    if postmaster is not None and postmaster not in {account.login for account in accounts}:
        raise server.error("postmaster", f"{postmaster!r} is not the login of an account")
    listeners = _listeners(data["listeners"], source) if "listeners" in data else _default_listeners()
    relay = _relay(_Table(data.get("relay", {}), "relay", source))
    return ServerConfig(
        hostname=hostname,
        domains=domains,
        accounts=accounts,
        listeners=listeners,
        mail_root=mail_root,
        postmaster=postmaster,
        flush=flush,
        limits=_limits(_Table(data.get("limits", {}), "limits", source)),
        tls=_tls(_Table(data.get("tls", {}), "tls", source), base),
        smtp=_smtp(_Table(data.get("smtp", {}), "smtp", source)),
        pop3=_pop3(_Table(data.get("pop3", {}), "pop3", source)),
        apop_secrets=plain_passwords,
        relay_routes=relay.routes,
        relay=relay,
        source=source,
    )


def _default_listeners() -> tuple[ListenerConfig, ...]:
    return tuple(ListenerConfig(p, p, "127.0.0.1", DEFAULT_PORTS[p], "starttls") for p in PROTOCOLS)


_TOML_LINE: Final = re.compile(r"at line (\d+)")


def parse_config_text(text: str, source: str, base_dir: Path | None = None) -> ServerConfig:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_LINE.search(str(exc))
        where = f"{source}:{match[1]}" if match else source
        raise ConfigError(f"{where}: {exc}") from None
    return parse_config(data, source, base_dir)


def load_config(path: Path) -> ServerConfig:
    """Read and check a config file; every problem is a ConfigError with a one-line message."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    return parse_config_text(text, str(path), path.parent)


def default_config() -> ServerConfig:
    """The embedded configuration used when `serve` gets no --config."""
    return parse_config_text(DEFAULT_CONFIG_TOML, "<default>")
