"""The TOML configuration: the embedded default, and one-line errors for every mistake."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from reference_server.accounts import hash_password, verify_password
from reference_server.config import (
    DEFAULT_CONFIG_TOML,
    ConfigError,
    ListenerConfig,
    default_config,
    load_config,
    parse_config_text,
)

MINIMAL = 'domains = ["example.org"]\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "server.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    message = str(raised.value)
    assert "\n" not in message and "Traceback" not in message
    assert message.startswith(str(path))
    return message[len(str(path)) :]


def test_default_configuration() -> None:
    config = default_config()
    assert config.hostname == "mail.example.test"
    assert config.domains == ("example.test",)
    assert [a.login for a in config.accounts] == ["alice", "bob"]
    assert config.accounts[0].addresses == ("alice@example.test",)
    assert verify_password("alicepw", config.accounts[0].password_hash)  # hashed at load
    assert verify_password("bobpw", config.accounts[1].password_hash)
    ports = {lst.name: (lst.protocol, lst.port, lst.tls) for lst in config.listeners}
    assert ports == {
        "smtp": ("smtp", 2525, "starttls"),
        "submission": ("submission", 2587, "starttls"),
        "pop3": ("pop3", 2110, "starttls"),
        "imap": ("imap", 2143, "starttls"),
    }
    assert config.limits.max_recipients >= 100  # RFC 5321 §4.5.3.1.8
    assert config.limits.command_timeout >= 300  # RFC 5321 §4.5.3.2.7
    assert config.smtp.bare_lf == "reject" and config.smtp.auth_requires_tls
    assert config.mail_root is None and config.tls.cert_file is None
    assert config.flush == "syncfs"


def test_default_text_is_valid_toml_documentation() -> None:
    assert parse_config_text(DEFAULT_CONFIG_TOML, "x").domains == ("example.test",)


def test_full_configuration(tmp_path: Path) -> None:
    (tmp_path / "cert.pem").write_text("c")
    (tmp_path / "key.pem").write_text("k")
    stored = hash_password("carolpw", n=16, r=1, p=1)
    config = load_config(
        write(
            tmp_path,
            f"""
            [server]
            hostname = "MX.Example.ORG"
            mail_root = "mail"
            postmaster = "carol"
            flush = "fsync"

            [[domains]]
            name = "example.org"
            [[domains]]
            name = "example.net"

            [[accounts]]
            login = "carol"
            address = "Carol@Example.ORG"
            password_hash = "{stored}"

            [[accounts]]
            login = "dave"
            addresses = ["dave@example.net", "d@example.org"]
            password = "davepw"

            [[listeners]]
            protocol = "smtp"
            port = 25
            tls = "none"

            [[listeners]]
            name = "smtps"
            protocol = "submission"
            host = "0.0.0.0"
            port = 465
            tls = "implicit"

            [limits]
            max_message_size = 0
            command_timeout = 2.5

            [tls]
            cert_file = "cert.pem"
            key_file = "key.pem"

            [smtp]
            bare_lf = "accept"
            auth_requires_tls = false
            vrfy = "refuse"
            expn = "refuse"
            eight_bit_mime = false

            [relay]
            routes = {{ "example.com" = "127.0.0.1:2526", "example.edu" = "[::1]:25" }}
            """,
        )
    )
    assert config.hostname == "mx.example.org"
    assert config.mail_root == tmp_path / "mail"
    assert config.domains == ("example.org", "example.net")
    assert config.accounts[0].addresses == ("Carol@example.org",)  # local part kept, domain lowered
    assert config.accounts[0].password_hash == stored
    assert config.postmaster == "carol"
    assert config.flush == "fsync"
    assert config.listeners == (
        ListenerConfig("smtp", "smtp", "127.0.0.1", 25, "none"),
        ListenerConfig("smtps", "submission", "0.0.0.0", 465, "implicit"),
    )
    assert config.limits.max_message_size == 0 and config.limits.command_timeout == 2.5
    assert config.tls.cert_file == tmp_path / "cert.pem"
    assert config.smtp.bare_lf == "accept" and not config.smtp.auth_requires_tls
    assert not config.smtp.eight_bit_mime
    assert config.relay_routes == {"example.com": ("127.0.0.1", 2526), "example.edu": ("::1", 25)}
    directory = config.directory()
    assert directory.postmaster is not None and directory.postmaster.login == "carol"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[server]\nhostname = 'x'\n", r": \[top level\] domains: at least one local domain is required"),
        (MINIMAL + "[limits]\nmax_recipients = 0\n", r": \[limits\] max_recipients: must be an integer >= 1"),
        (MINIMAL + "[limits]\nmax_sessions = 'many'\n", r": \[limits\] max_sessions: must be an integer"),
        (MINIMAL + "[limits]\nidle_timeout = -1\n", r": \[limits\] idle_timeout: must be a number of seconds"),
        (MINIMAL + "[limits]\nmax_message_size = 10\n", r": \[limits\] max_message_size: must be 0"),
        (MINIMAL + "[limits]\nfrobs = 1\n", r": \[limits\] frobs: unknown key"),
        (MINIMAL + "[bogus]\nx = 1\n", r": \[bogus\]: unknown section"),
        (MINIMAL + "[smtp]\nbare_lf = 'maybe'\n", r": \[smtp\] bare_lf: must be one of 'reject', 'accept'"),
        (MINIMAL + "[smtp]\nauth_requires_tls = 'yes'\n", r": \[smtp\] auth_requires_tls: must be true or false"),
        ('domains = ["bad_domain.org"]\n', r": \[top level\] domains: 'bad_domain.org' is not a valid domain"),
        ('domains = ["a.org", "A.org"]\n', r": \[top level\] domains: a domain is listed twice"),
        (MINIMAL + "[server]\nhostname = 'has space'\n", r": \[server\] hostname: 'has space' is not a valid"),
        (MINIMAL + "[server]\npostmaster = 'zed'\n", r": \[server\] postmaster: 'zed' is not the login"),
        (MINIMAL + "[server]\nflush = 'never'\n", r": \[server\] flush: must be one of 'syncfs', 'fsync'"),
        (
            MINIMAL + "[[accounts]]\nlogin = 'a'\naddress = 'a@elsewhere.org'\npassword = 'p'\n",
            r": \[accounts #1\] address: 'a@elsewhere.org' is not in a configured domain",
        ),
        (
            MINIMAL + "[[accounts]]\nlogin = 'a'\naddress = 'not an address'\npassword = 'p'\n",
            r": \[accounts #1\] address: 'not an address': Bad address syntax",
        ),
        (
            MINIMAL + "[[accounts]]\nlogin = 'a'\naddress = 'a@example.org'\n",
            r": \[accounts #1\] password_hash: give exactly one of password_hash or password",
        ),
        (
            MINIMAL + "[[accounts]]\nlogin = 'a'\naddress = 'a@example.org'\npassword_hash = 'md5$x'\n",
            r": \[accounts #1\] password_hash: expected scrypt\$N\$r\$p\$salt_b64\$hash_b64",
        ),
        (
            MINIMAL + "[[accounts]]\nlogin = 'a'\npassword = 'p'\n",
            r": \[accounts #1\] addresses: give either address",
        ),
        (
            MINIMAL
            + "[[accounts]]\nlogin = 'a'\naddress = 'a@example.org'\npassword = 'p'\n"
            + "[[accounts]]\nlogin = 'b'\naddress = 'A@example.org'\npassword = 'p'\n",
            r": \[accounts #2\] address: 'A@example.org' is given to two accounts",
        ),
        (MINIMAL + "[[listeners]]\nprotocol = 'ftp'\n", r": \[listeners #1\] protocol: must be one of smtp"),
        (MINIMAL + "[[listeners]]\nport = 25\n", r": \[listeners #1\] protocol: is required"),
        (
            MINIMAL + "[[listeners]]\nprotocol = 'smtp'\nport = 70000\n",
            r": \[listeners #1\] port: must be an integer <=",
        ),
        (
            MINIMAL + "[[listeners]]\nprotocol = 'smtp'\n[[listeners]]\nprotocol = 'smtp'\n",
            r": \[listeners #2\] name: 'smtp' is used twice",
        ),
        (MINIMAL + "[[listeners]]\nprotocol = 'smtp'\ntls = 'ssl'\n", r": \[listeners #1\] tls: must be one of"),
        (MINIMAL + "[tls]\ncert_file = 'c.pem'\n", r": \[tls\] key_file: cert_file and key_file go together"),
        (MINIMAL + "[tls]\ncert_file = 'c.pem'\nkey_file = 'k.pem'\n", r": \[tls\] cert_file: .* is not a readable"),
        (
            MINIMAL + "[relay]\nroutes = { 'x.org' = 'nohost' }\n",
            r": \[relay\] routes: 'x.org': expected \"host:port\"",
        ),
    ],
)
def test_errors_name_file_section_and_key(tmp_path: Path, text: str, expected: str) -> None:
    assert re.match(expected, error_of(tmp_path, text)), error_of(tmp_path, text)


def test_toml_syntax_error_gives_the_line(tmp_path: Path) -> None:
    message = error_of(tmp_path, 'domains = ["a.org"]\n\n[server]\nhostname = \n')
    assert re.match(r":4: ", message)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")


def test_listeners_default_when_absent(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL))
    assert [lst.name for lst in config.listeners] == ["smtp", "submission", "pop3", "imap"]
    assert config.accounts == ()


def test_documented_example_is_a_valid_configuration(tmp_path: Path) -> None:
    """docs/reference-server.md shows a complete config; it must load as shown."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "reference-server.md").read_text(encoding="utf-8")
    (example,) = re.findall(r"```toml\n(.*?)```", doc, re.DOTALL)
    (tmp_path / "cert.pem").write_text("-")
    (tmp_path / "key.pem").write_text("-")
    config = parse_config_text(example, "doc", tmp_path)
    assert config.domains == ("example.test", "example.org")
    assert verify_password("alicepw", config.accounts[0].password_hash)
    assert {lst.name for lst in config.listeners} == {"smtp", "submission", "submissions", "pop3", "imap"}
