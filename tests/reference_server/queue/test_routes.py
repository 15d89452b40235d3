"""Routing: configured routes, "*", address literals and MX lookups through an injected resolver."""

from __future__ import annotations

import asyncio

import pytest

from reference_server.queue.routes import DnsTemporaryError, NextHop, NoSuchDomain, RouteFailure, Router


def hops(router: Router, domain: str) -> tuple[NextHop, ...]:
    return asyncio.run(router.next_hops(domain))


def failure(router: Router, domain: str) -> RouteFailure:
    with pytest.raises(RouteFailure) as caught:
        hops(router, domain)
    return caught.value


class FakeDns:
    """MX answers from a table; records which domains were asked."""

    def __init__(self, answers: dict[str, list[tuple[int, str]] | Exception]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def __call__(self, domain: str) -> list[tuple[int, str]]:
        self.asked.append(domain)
        answer = self.answers[domain]
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_exact_route_is_case_insensitive_and_wins_over_default() -> None:
    router = Router({"hamburger.edu": ("127.0.0.1", 3525), "*": ("10.0.0.1", 25)})
    assert hops(router, "Hamburger.EDU") == (NextHop("127.0.0.1", 3525),)
    assert hops(router, "other.example") == (NextHop("10.0.0.1", 25),)
    assert router.has_route("HAMBURGER.edu") and router.has_route("anything.example")


def test_no_route_without_default_or_mx() -> None:
    router = Router({"hamburger.edu": ("127.0.0.1", 3525)})
    assert not router.has_route("elsewhere.example")
    refused = failure(router, "elsewhere.example")
    assert refused.permanent and refused.enhanced == "5.4.4"  # RFC 3463: unable to route
    assert not Router({}).enabled


def test_address_literals_go_to_their_address_on_port_25_unless_routed() -> None:
    router = Router({"[192.0.2.7]": ("127.0.0.1", 4025)})
    assert hops(router, "[192.0.2.1]") == (NextHop("192.0.2.1", 25),)
    assert hops(router, "[IPv6:2001:db8::1]") == (NextHop("2001:db8::1", 25),)
    assert str(NextHop("2001:db8::1", 25)) == "[2001:db8::1]:25"
    assert hops(router, "[192.0.2.7]") == (NextHop("127.0.0.1", 4025),)
    assert router.has_route("[192.0.2.1]")
    assert not router.has_route("[tag:opaque]")
    assert failure(router, "[tag:opaque]").enhanced == "5.1.2"


def test_default_route_does_not_capture_literals() -> None:
    router = Router({"*": ("10.0.0.1", 25)})
    assert hops(router, "[192.0.2.1]") == (NextHop("192.0.2.1", 25),)


def test_mx_records_in_preference_order() -> None:
    dns = FakeDns({"example.org": [(20, "backup.example.org."), (10, "MX1.example.org."), (30, "last.example.net.")]})
    router = Router({}, mx=True, lookup=dns)
    assert router.has_route("example.org") and dns.asked == []  # RCPT never asks DNS
    assert hops(router, "example.org") == (
        NextHop("mx1.example.org", 25),
        NextHop("backup.example.org", 25),
        NextHop("last.example.net", 25),
    )
    assert dns.asked == ["example.org"]


def test_equal_preferences_are_shuffled_within_their_rank_only() -> None:
    shuffled: list[list[NextHop]] = []

    def reverse(same: list[NextHop]) -> None:
        shuffled.append(list(same))
        same.reverse()

    dns = FakeDns({"example.org": [(10, "a.example."), (10, "b.example."), (5, "first.example.")]})
    router = Router({}, mx=True, lookup=dns, shuffle=reverse)
    assert hops(router, "example.org") == (
        NextHop("first.example", 25),
        NextHop("b.example", 25),
        NextHop("a.example", 25),
    )
    assert [len(group) for group in shuffled] == [1, 2]


def test_no_mx_records_means_the_implicit_mx() -> None:
    router = Router({}, mx=True, lookup=FakeDns({"bare.example": []}))
    assert hops(router, "bare.example") == (NextHop("bare.example", 25),)  # RFC 5321 §5.1


def test_nxdomain_is_permanent_and_dns_trouble_temporary() -> None:
    dns = FakeDns({"gone.example": NoSuchDomain("gone.example"), "flaky.example": DnsTemporaryError("timeout")})
    router = Router({}, mx=True, lookup=dns)
    gone = failure(router, "gone.example")
    assert gone.permanent and (gone.code, gone.enhanced) == (550, "5.1.2")
    flaky = failure(router, "flaky.example")
    assert not flaky.permanent and (flaky.code, flaky.enhanced) == (451, "4.4.3")


def test_null_mx_refuses_mail() -> None:
    router = Router({}, mx=True, lookup=FakeDns({"nomail.example": [(0, ".")]}))
    refused = failure(router, "nomail.example")
    assert refused.permanent and refused.enhanced == "5.1.10"


def test_configured_route_is_used_before_dns() -> None:
    dns = FakeDns({})
    router = Router({"hamburger.edu": ("127.0.0.1", 3525)}, mx=True, lookup=dns)
    assert hops(router, "hamburger.edu") == (NextHop("127.0.0.1", 3525),)
    assert dns.asked == []
