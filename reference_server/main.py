"""Command-line entry points: ``serve`` (run the reference server) and ``faults`` (list them).

``serve`` starts one listener per configured SMTP/submission/POP3 endpoint in one asyncio
process, writes a ready file once every socket is bound (what the harness and the crash
tests wait for), and on SIGINT/SIGTERM stops accepting, sends 421 to live sessions,
lets deliveries in progress finish, and exits 0. Configuration errors print one line
and exit 2; nothing prints a traceback for a user mistake.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import json
import logging
import os
import shutil
import signal
import ssl
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from reference_server.accounts import Accounts, hash_password
from reference_server.config import ConfigError, ListenerConfig, ServerConfig, default_config, load_config
from reference_server.faults import NO_FAULTS, REGISTRY, Faults, UnknownFaultError
from reference_server.pop3.maildrop import MaildropLocks
from reference_server.pop3.server import Pop3Server
from reference_server.pop3.state import Pop3Settings
from reference_server.queue.routes import Router
from reference_server.queue.runner import QueueRunner, RunnerSettings
from reference_server.queue.spool import Spool
from reference_server.sessions import SessionRegistry
from reference_server.smtp.server import SmtpServer, Timeouts
from reference_server.smtp.state import SessionSettings
from reference_server.storage.api import DEFAULT_FLUSH_METHOD, MailStore
from reference_server.tls import server_context, write_self_signed

log = logging.getLogger(__name__)

EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1
EXIT_USAGE: Final = 2
ANY_PORT_HOST: Final = "127.0.0.1"
SMTP_PROTOCOLS: Final = ("smtp", "submission")
SERVED_PROTOCOLS: Final = (*SMTP_PROTOCOLS, "pop3")


@dataclass(frozen=True)
class BoundListener:
    """Where one listener actually listens (the port is real even when 0 was asked for)."""

    name: str
    protocol: str
    host: str
    port: int
    tls: str


class ReferenceServer:
    """The reference server in this process: start it, read its listeners, stop it.

    `serve` uses it; tests and an in-process harness can too, with any MailStore. The
    outgoing queue lives under `mail_root` (default: the store's own `root`, if it has one);
    without one the server queues nothing and accepts no relay recipients.
    """

    def __init__(
        self,
        config: ServerConfig,
        store: MailStore,
        faults: Faults = NO_FAULTS,
        *,
        any_port: bool = False,
        mail_root: Path | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.faults = faults
        self.any_port = any_port
        root = mail_root if mail_root is not None else getattr(store, "root", None)
        self.mail_root: Path | None = root if isinstance(root, Path) else None
        self.router = Router(config.relay.routes, mx=config.relay.mx)
        self.queue: QueueRunner | None = None
        self.listeners: dict[str, BoundListener] = {}
        self._servers: list[SmtpServer] = []
        self._pop3_servers: list[Pop3Server] = []
        self._pop3_locks = MaildropLocks(faults)  # one lock table: every POP3 listener shares the maildrops
        self._registry = SessionRegistry(config.limits.max_sessions)
        self._cert_dir: tempfile.TemporaryDirectory[str] | None = None

    def _ssl_context(self) -> ssl.SSLContext:
        tls = self.config.tls
        if tls.cert_file is not None and tls.key_file is not None:
            return server_context(tls.cert_file, tls.key_file)
        self._cert_dir = tempfile.TemporaryDirectory(prefix="mailconform-tls-")
        cert, key = write_self_signed(self.config.hostname, Path(self._cert_dir.name))
        log.info("no certificate configured: using a self-signed one for %s", self.config.hostname)
        return server_context(cert, key)

    def _settings(self, protocol: str, tls_available: bool) -> SessionSettings:
        config = self.config
        return SessionSettings(
            hostname=config.hostname,
            submission=protocol == "submission",
            tls_available=tls_available,
            max_message_size=config.limits.max_message_size or None,
            max_recipients=config.limits.max_recipients,
            reject_bare_newlines=config.smtp.bare_lf == "reject",
            auth_requires_tls=config.smtp.auth_requires_tls,
            vrfy=config.smtp.vrfy,
            expn=config.smtp.expn,
            eight_bit_mime=config.smtp.eight_bit_mime,
            max_bad_commands=config.limits.max_bad_commands,
            relay_route=self.router.has_route if self.queue is not None and self.router.enabled else None,
            max_received=config.relay.max_received,
            faults=self.faults,
        )

    def _pop3_server(self, listener: ListenerConfig, accounts: Accounts, context: ssl.SSLContext | None) -> Pop3Server:
        config = self.config
        settings = Pop3Settings(
            hostname=config.hostname,
            tls_available=listener.tls == "starttls",
            login_requires_tls=config.pop3.login_requires_tls,
            failed_login_delay=config.pop3.failed_login_delay,
            max_bad_commands=config.limits.max_bad_commands,
            apop_secrets=config.apop_secrets,
            faults=self.faults,
        )
        return Pop3Server(
            settings,
            accounts,
            self.store,
            self._pop3_locks,
            ssl_context=context if listener.tls != "none" else None,
            implicit_tls=listener.tls == "implicit",
            autologout=config.pop3.autologout,
            max_sessions=config.limits.max_sessions,
        )

    async def start(self) -> dict[str, BoundListener]:
        """Create the users' mailboxes, start the outgoing queue, bind every listener this server can serve."""
        config = self.config
        for account in config.accounts:
            self.store.ensure_user(account.login)
        accounts = config.directory()
        if self.mail_root is not None:
            self.queue = QueueRunner(
                Spool(self.mail_root),
                self.router,
                self.store,
                accounts,
                RunnerSettings.from_config(config, self.faults),
            )
            await self.queue.start()
            relay = config.relay
            if relay.enabled:
                routes = ", ".join(f"{domain} -> {host}:{port}" for domain, (host, port) in relay.routes.items())
                log.info(
                    "relaying for authenticated clients: %s%s", routes or "no routes", " (+ DNS MX)" if relay.mx else ""
                )
        needs_tls = any(lst.tls != "none" for lst in config.listeners if lst.protocol in SERVED_PROTOCOLS)
        context = self._ssl_context() if needs_tls else None
        timeouts = Timeouts(
            command=config.limits.command_timeout, data=config.limits.data_timeout, idle=config.limits.idle_timeout
        )
        try:
            for listener in config.listeners:
                if listener.protocol not in SERVED_PROTOCOLS:
                    log.info("listener %r not started: no %s server yet", listener.name, listener.protocol)
                    continue
                host = ANY_PORT_HOST if self.any_port else listener.host
                port = 0 if self.any_port else listener.port
                if listener.protocol == "pop3":
                    pop3 = self._pop3_server(listener, accounts, context)
                    bound_host, bound_port = await pop3.start(host, port)
                    self._pop3_servers.append(pop3)
                    self._bound(listener, bound_host, bound_port)
                    continue
                server = SmtpServer(
                    self._settings(listener.protocol, listener.tls == "starttls"),
                    accounts,
                    self.store,
                    self._registry,
                    ssl_context=context if listener.tls != "none" else None,
                    implicit_tls=listener.tls == "implicit",
                    timeouts=timeouts,
                    queue=self.queue,
                )
                bound_host, bound_port = await server.start(host, port)
                self._servers.append(server)
                self._bound(listener, bound_host, bound_port)
        except BaseException:
            await self.stop()
            raise
        return self.listeners

    def _bound(self, listener: ListenerConfig, host: str, port: int) -> None:
        self.listeners[listener.name] = BoundListener(listener.name, listener.protocol, host, port, listener.tls)
        log.info("%s listening on %s:%d (%s, tls=%s)", listener.name, host, port, listener.protocol, listener.tls)

    async def stop(self) -> None:
        """Stop accepting, send 421 to live sessions, wait for them (bounded), clean up."""
        for server in self._servers:
            server.close()
        for pop3 in self._pop3_servers:
            pop3.close()
        await asyncio.gather(self._registry.shutdown(), *(pop3.shutdown() for pop3 in self._pop3_servers))
        self._pop3_servers.clear()
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()
        if self.queue is not None:
            await self.queue.stop()  # after the sessions: none of them is enqueueing any more
        if self._cert_dir is not None:
            self._cert_dir.cleanup()
            self._cert_dir = None

    def flush_queue(self) -> None:
        """Retry every queued message now (SIGUSR1, `mailconform queue --flush`)."""
        if self.queue is not None:
            self.queue.flush()

    def ready_info(self, mail_root: Path) -> dict[str, object]:
        """What the ready file says (the harness reads it to find the ports)."""
        return {
            "pid": os.getpid(),
            "hostname": self.config.hostname,
            "domains": list(self.config.domains),
            "listeners": {
                name: {"host": bound.host, "port": bound.port, "tls": bound.tls}
                for name, bound in self.listeners.items()
            },
            "mail_root": str(mail_root),
            "faults": self.faults.listed(),
        }


def write_ready_file(path: Path, info: dict[str, object]) -> None:
    """Write atomically: a reader sees no file or the whole file, never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=".ready-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(info, handle, indent=2)
            handle.write("\n")
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def write_pid_file(path: Path) -> None:
    """<mail_root>/queue/server.pid: how `mailconform queue --flush` finds the running server."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(f"{os.getpid()}\n", encoding="ascii")
    os.replace(temporary, path)


def remove_pid_file(path: Path) -> None:
    """Remove the pid file if it is still ours (another server may have taken the mail root over)."""
    with contextlib.suppress(OSError, ValueError):
        if int(path.read_text(encoding="ascii").strip()) == os.getpid():
            path.unlink()


def open_store(mail_root: Path, flush: str = DEFAULT_FLUSH_METHOD) -> MailStore:
    """The Maildir store, imported only when a real server starts."""
    from reference_server.storage.store import MaildirStore

    return MaildirStore(mail_root, flush=flush)


def _serve_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mailconform serve",
        description="Run the mailconform reference mail server (SMTP, submission and POP3).",
    )
    parser.add_argument("--config", type=Path, help="TOML configuration file (default: built-in example.test setup)")
    parser.add_argument("--mail-root", type=Path, help="where mailboxes live (default: a temporary folder)")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME",
        help="switch on a deliberate defect (repeatable; see `mailconform faults`)",
    )
    parser.add_argument("--any-port", action="store_true", help="bind every listener to 127.0.0.1 on a free port")
    parser.add_argument("--ready-file", type=Path, help="write listener addresses as JSON here once bound")
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="log verbosity on stderr (DEBUG shows the wire)",
    )
    return parser


async def _serve(config: ServerConfig, faults: Faults, mail_root: Path, any_port: bool, ready_file: Path | None) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    store = open_store(mail_root, config.flush)
    server = ReferenceServer(config, store, faults, any_port=any_port, mail_root=mail_root)
    try:
        await server.start()
    except OSError as exc:
        log.error("cannot listen: %s", exc)
        return EXIT_FAILURE
    loop.add_signal_handler(signal.SIGUSR1, server.flush_queue)
    pid_file = Spool(mail_root).pid_file
    try:
        write_pid_file(pid_file)
        if ready_file is not None:
            write_ready_file(ready_file, server.ready_info(mail_root))
        if faults.names:
            log.warning("faults switched on: %s", ", ".join(faults.listed()))
        await stop.wait()
        log.info("stopping: closing listeners and sessions")
    finally:
        loop.remove_signal_handler(signal.SIGUSR1)
        remove_pid_file(pid_file)
        await server.stop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        if ready_file is not None:
            with contextlib.suppress(OSError):
                ready_file.unlink()
    log.info("stopped")
    return EXIT_OK


def serve_main(argv: Sequence[str] | None = None) -> int:
    """`mailconform serve`: run until SIGINT/SIGTERM; 0 on a clean stop, 2 on a config error."""
    args = _serve_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        faults = Faults.of(args.fault)
        config = load_config(args.config) if args.config is not None else default_config()
    except (ConfigError, UnknownFaultError) as exc:
        print(f"mailconform serve: {exc}", file=sys.stderr)
        return EXIT_USAGE
    temporary_root: str | None = None
    if args.mail_root is not None:
        mail_root = args.mail_root
    elif config.mail_root is not None:
        mail_root = config.mail_root
    else:
        temporary_root = tempfile.mkdtemp(prefix="mailconform-mail-")
        mail_root = Path(temporary_root)
    log.info("mail root: %s%s", mail_root, " (temporary, removed at exit)" if temporary_root else "")
    try:
        return asyncio.run(_serve(config, faults, mail_root, args.any_port, args.ready_file))
    finally:
        if temporary_root is not None:
            shutil.rmtree(temporary_root, ignore_errors=True)


def faults_main(argv: Sequence[str] | None = None) -> int:
    """`mailconform faults`: every fault with the clause it breaks and what it does."""
    argparse.ArgumentParser(
        prog="mailconform faults", description="List the deliberate defects `serve --fault` can switch on."
    ).parse_args(argv)
    width = max(len(name) for name in REGISTRY)
    cite_width = max(len(fault.citation) for fault in REGISTRY.values())
    for name in sorted(REGISTRY):
        fault = REGISTRY[name]
        print(f"{name:<{width}}  {fault.citation:<{cite_width}}  {fault.description}")
    return EXIT_OK


def hash_password_main(argv: Sequence[str] | None = None) -> int:
    """`python -m reference_server hash-password`: print a password_hash for the config file."""
    argparse.ArgumentParser(
        prog="python -m reference_server hash-password",
        description="Read a password (prompted, or one line on stdin) and print its scrypt hash.",
    ).parse_args(argv)
    password = getpass.getpass("Password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\r\n")
    if not password:
        print("hash-password: empty password", file=sys.stderr)
        return EXIT_USAGE
    print(hash_password(password))
    return EXIT_OK
