"""Relay set-up of targets: `[relay]` in a target file, and the reference server's routes to the hop."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.targets import RelaySetup, TargetError, external_target, reference_config
from reference_server.config import default_config, parse_config_text

RELAY_TOML = """\
[endpoints]
submission = "127.0.0.1:2587"

[relay]
domain = "relay.example"
legacy_domain = "legacy.example"
capture = "127.0.0.1:2601"
legacy_capture = "127.0.0.1:2602"
"""


def target_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "target.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_relay_section_gives_the_hop_and_the_variables(tmp_path: Path) -> None:
    target = external_target({}, None, target_file(tmp_path, RELAY_TOML))
    assert target.relay == RelaySetup("relay.example", "legacy.example", ("127.0.0.1", 2601), ("127.0.0.1", 2602))
    variables = target.variables()
    assert variables["relay_domain"] == "relay.example" and variables["legacy_domain"] == "legacy.example"


def test_without_relay_section_there_is_no_hop(tmp_path: Path) -> None:
    target = external_target({}, None, target_file(tmp_path, RELAY_TOML.split("[relay]")[0]))
    assert target.relay is None
    assert "relay_domain" not in target.variables()


@pytest.mark.parametrize(
    ("relay", "words"),
    [
        ('domain = "relay.example"\n', "[relay] legacy_domain is required"),
        (
            'domain = "a.example"\nlegacy_domain = "b.example"\ncapture = "1:2"\nlegacy_capture = "1:3"\nport = 1\n',
            "unknown key 'port'",
        ),
        ('domain = "a.example"\nlegacy_domain = "A.example"\ncapture = "h:2"\nlegacy_capture = "h:3"\n', "must differ"),
        (
            'domain = "a.example"\nlegacy_domain = "b.example"\ncapture = "h:2"\nlegacy_capture = "h:2"\n',
            "different addresses",
        ),
        (
            'domain = "a.example"\nlegacy_domain = "b.example"\ncapture = "nowhere"\nlegacy_capture = "h:2"\n',
            "[relay] capture: expected HOST:PORT",
        ),
        (
            'domain = ""\nlegacy_domain = "b.example"\ncapture = "h:1"\nlegacy_capture = "h:2"\n',
            "domain must be a non-empty string",
        ),
    ],
)
def test_bad_relay_section_is_one_line_naming_the_key(tmp_path: Path, relay: str, words: str) -> None:
    path = target_file(tmp_path, '[endpoints]\nsmtp = "127.0.0.1:25"\n\n[relay]\n' + relay)
    with pytest.raises(TargetError) as raised:
        external_target({}, None, path)
    assert words in str(raised.value) and str(raised.value).startswith(str(path))
    assert "\n" not in str(raised.value)


def test_relay_section_must_be_a_table(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match=r"\[relay\] must be a table"):
        external_target({}, None, target_file(tmp_path, 'relay = 3\n[endpoints]\nsmtp = "127.0.0.1:25"\n'))


def test_reference_config_keeps_the_default_domain_and_accounts_and_routes_to_the_hop() -> None:
    setup = RelaySetup("relay.test", "legacy.test", ("127.0.0.1", 40001), ("127.0.0.1", 40002))
    config = parse_config_text(reference_config(setup), "generated")
    default = default_config()
    assert config.domains == default.domains and config.hostname == default.hostname
    assert [(a.login, a.addresses) for a in config.accounts] == [(a.login, a.addresses) for a in default.accounts]
    assert config.apop_secrets == default.apop_secrets  # the same passwords
    listeners = [(x.name, x.protocol, x.tls) for x in config.listeners]
    assert listeners == [(x.name, x.protocol, x.tls) for x in default.listeners]
    assert config.relay.routes == {"relay.test": ("127.0.0.1", 40001), "legacy.test": ("127.0.0.1", 40002)}
    assert config.relay.retry_initial < 1 and config.relay.retry_max <= 2  # a retry within a case's step timeout
