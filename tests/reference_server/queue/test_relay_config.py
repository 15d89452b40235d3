"""The [relay] section: every key, its defaults, and one-line errors naming the key."""

from __future__ import annotations

import pytest

from reference_server.config import ConfigError, RelayConfig, default_config, parse_config_text

BASE = 'domains = ["crepes.fr"]\n[relay]\n'


def relay(text: str) -> RelayConfig:
    return parse_config_text(BASE + text, "server.toml").relay


def test_defaults_leave_relaying_off() -> None:
    config = default_config().relay
    assert config == RelayConfig()
    assert not config.enabled
    assert (config.retry_initial, config.retry_max, config.lifetime) == (60.0, 3600.0, 432000.0)
    assert (config.tls, config.max_received, config.concurrency) == ("opportunistic", 100, 10)


def test_every_key() -> None:
    config = relay(
        'routes = { "Hamburger.EDU" = "127.0.0.1:3525", "*" = "smarthost.example:25", "[192.0.2.1]" = "[::1]:2525" }\n'
        "mx = true\nretry_initial = 0.25\nretry_max = 2\nlifetime = 10\nconnect_timeout = 1.5\n"
        'command_timeout = 3\ntls = "required"\nmax_received = 150\nconcurrency = 2\n'
    )
    assert config.routes == {
        "hamburger.edu": ("127.0.0.1", 3525),
        "*": ("smarthost.example", 25),
        "[192.0.2.1]": ("::1", 2525),
    }
    assert config.mx and config.enabled
    assert (config.retry_initial, config.retry_max, config.lifetime) == (0.25, 2.0, 10.0)
    assert (config.connect_timeout, config.command_timeout) == (1.5, 3.0)
    assert (config.tls, config.max_received, config.concurrency) == ("required", 150, 2)
    assert parse_config_text(BASE + 'routes = { "*" = "a.example:25" }', "x").relay_routes == {"*": ("a.example", 25)}


def test_mx_alone_enables_relaying() -> None:
    assert relay("mx = true\n").enabled


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("retry_initial = 0\n", "[relay] retry_initial: must be a number of seconds > 0"),
        ("retry_initial = 10\nretry_max = 5\n", "[relay] retry_max: must be at least retry_initial (10)"),
        ("lifetime = -1\n", "[relay] lifetime: must be a number of seconds > 0"),
        ('tls = "maybe"\n', "[relay] tls: must be one of 'none', 'opportunistic', 'required'"),
        ("max_received = 0\n", "[relay] max_received: must be an integer >= 1"),
        ("concurrency = 1.5\n", "[relay] concurrency: must be an integer >= 1"),
        ('mx = "yes"\n', "[relay] mx: must be true or false"),
        ("queue_dir = 1\n", "[relay] queue_dir: unknown key"),
        ('routes = { "[300.1.1.1]" = "127.0.0.1:25" }\n', "[relay] routes: '[300.1.1.1]' is not a valid address"),
        ('routes = { "x.org" = "nohost" }\n', "[relay] routes: 'x.org': expected \"host:port\""),
    ],
)
def test_errors_are_one_line_naming_the_key(text: str, error: str) -> None:
    with pytest.raises(ConfigError) as caught:
        relay(text)
    message = str(caught.value)
    assert message.startswith("server.toml: ") and "\n" not in message
    assert error in message
