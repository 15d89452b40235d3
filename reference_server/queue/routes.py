"""Where mail for a domain goes next: a configured route, the "*" default, or DNS MX records.

The order is fixed and simple so that a reader of the configuration knows the answer:

1. a route for exactly that domain (or address literal), compared case-insensitively;
2. an address literal (``[192.0.2.1]``, ``[IPv6:2001:db8::1]``) goes to that address, port 25;
3. the ``"*"`` route;
4. with ``mx = true``, DNS: MX records by preference (RFC 5321 §5.1; equal preferences in
   random order, as §5.1 asks), no MX records at all -> the domain itself (the implicit MX,
   §5.1), a null MX (a single "." record) -> permanent failure, no such domain -> permanent
   failure, a DNS error -> try again later.

`has_route` answers RCPT without any I/O (a pure look at the configuration: with MX lookups on,
every domain may have a route); `next_hops` is what the queue asks when it delivers.
The MX lookup is injectable so that tests need no DNS.
"""

from __future__ import annotations

import random
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Final

from reference_server.config import DEFAULT_ROUTE
from reference_server.hostport import HostPort

SMTP_PORT: Final = 25  # RFC 5321 §4.5.4.2 (relays use the SMTP port)
_IPV4: Final = re.compile(r"\d{1,3}(\.\d{1,3}){3}")


class NoSuchDomain(Exception):
    """DNS says the domain does not exist (NXDOMAIN)."""


class DnsTemporaryError(Exception):
    """DNS could not answer now (timeout, SERVFAIL, no reachable name server)."""


MxLookup = Callable[[str], Awaitable[list[tuple[int, str]]]]
"""(preference, exchange) MX records of a domain; [] when it has none; raises the two errors above."""


NextHop = HostPort
"""Where a route sends mail: a host (name or address) and its SMTP port."""


class RouteFailure(Exception):
    """No next hop now (temporary) or ever (permanent); carries the result recorded for the recipients."""

    def __init__(self, code: int, enhanced: str, text: str) -> None:
        super().__init__(f"{code} {enhanced} {text}")
        self.code = code
        self.enhanced = enhanced
        self.text = text

    @property
    def permanent(self) -> bool:
        return self.code >= 500


def literal_address(domain: str) -> str | None:
    """The IP address of an RFC 5321 §4.1.3 address literal; None for a name or a general literal."""
    if not (domain.startswith("[") and domain.endswith("]")):
        return None
    inner = domain[1:-1]
    if inner[:5].lower() == "ipv6:":
        return inner[5:]
    return inner if _IPV4.fullmatch(inner) else None


class Router:
    """Routes from configuration, optionally completed by MX lookups."""

    def __init__(
        self,
        routes: Mapping[str, tuple[str, int]],
        *,
        mx: bool = False,
        lookup: MxLookup | None = None,
        port: int = SMTP_PORT,
        shuffle: Callable[[list[NextHop]], None] = random.shuffle,
    ) -> None:
        self._routes = {key.lower(): NextHop(host, hop_port) for key, (host, hop_port) in routes.items()}
        self._mx = mx
        self._lookup = lookup or dns_mx_lookup
        self._port = port
        self._shuffle = shuffle

    @property
    def enabled(self) -> bool:
        """Does any domain have a route? (Relaying is offered only then.)"""
        return bool(self._routes) or self._mx

    def has_route(self, domain: str) -> bool:
        """Can mail for `domain` be queued? Pure: configuration only, DNS is asked at delivery."""
        key = _key(domain)
        return (
            key in self._routes
            or literal_address(key) is not None
            or (not key.startswith("[") and (DEFAULT_ROUTE in self._routes or self._mx))
        )

    async def next_hops(self, domain: str) -> tuple[NextHop, ...]:
        """The hosts to try, in order; RouteFailure when there is none."""
        key = _key(domain)
        if key in self._routes:
            return (self._routes[key],)
        if key.startswith("["):
            address = literal_address(key)
            if address is None:
                raise RouteFailure(550, "5.1.2", f"cannot route to the address literal {domain}")
            return (NextHop(address, self._port),)
        if DEFAULT_ROUTE in self._routes:
            return (self._routes[DEFAULT_ROUTE],)
        if not self._mx:
            raise RouteFailure(550, "5.4.4", f"no route to {domain}")
        return await self._mx_hops(key)

    async def _mx_hops(self, domain: str) -> tuple[NextHop, ...]:
        try:
            records = await self._lookup(domain)
        except NoSuchDomain:
            raise RouteFailure(550, "5.1.2", f"domain {domain} does not exist (DNS NXDOMAIN)") from None
        except DnsTemporaryError as exc:
            raise RouteFailure(451, "4.4.3", f"DNS lookup for {domain} failed: {exc}") from None
        if not records:
            return (NextHop(domain, self._port),)  # RFC 5321 §5.1: the implicit MX
        names = [(preference, exchange.rstrip(".").lower()) for preference, exchange in records]
        if len(names) == 1 and names[0][1] == "":
            raise RouteFailure(556, "5.1.10", f"domain {domain} accepts no mail (null MX)")
        hops: list[NextHop] = []
        for preference in sorted({p for p, _ in names}):
            same = [NextHop(name, self._port) for p, name in sorted(names) if p == preference and name]
            self._shuffle(same)  # RFC 5321 §5.1: spread the load over equal preferences
            hops.extend(same)
        return tuple(hops)


def _key(domain: str) -> str:
    return domain.rstrip(".").lower() if not domain.startswith("[") else domain.lower()


async def dns_mx_lookup(domain: str) -> list[tuple[int, str]]:
    """MX records with dnspython's asynchronous resolver (imported only when DNS is used)."""
    import dns.asyncresolver
    import dns.exception
    import dns.resolver

    try:
        answer = await dns.asyncresolver.resolve(domain, "MX")
    except dns.resolver.NXDOMAIN:
        raise NoSuchDomain(domain) from None
    except dns.resolver.NoAnswer:
        return []
    except dns.exception.DNSException as exc:
        raise DnsTemporaryError(str(exc) or type(exc).__name__) from None
    return [(int(record.preference), record.exchange.to_text()) for record in answer]
