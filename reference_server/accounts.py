"""Local users: who may log in, with which password, and which addresses reach them.

Passwords are stored only as scrypt hashes (``hashlib.scrypt``) in a self-describing
string, so a config file can be shared without handing out passwords::

    scrypt$<N>$<r>$<p>$<salt, base64>$<hash, base64>

Verification costs tens of milliseconds on purpose; a short-lived cache of recent
successful logins, keyed by the login and an HMAC of the password under a per-process
secret, keeps repeated logins (one per message from a test client) cheap without storing
anything that is weaker than the configured hash.

Address lookup: domains compare case-insensitively (they are DNS names); local parts are
kept exactly as configured but *looked up* case-insensitively, as RFC 5321 §4.1.2 advises
hosts not to define mailboxes whose local part is case-sensitive. "Postmaster" is matched
case-insensitively at every local domain and on its own (RFC 5321 §4.5.1).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

SCRYPT_N: Final = 2**14  # CPU/memory cost; 16 MiB of memory per verification with r=8
SCRYPT_R: Final = 8
SCRYPT_P: Final = 1
SCRYPT_MAX_N: Final = 2**20  # refuse hashes that would need more than ~1 GiB to verify
SALT_BYTES: Final = 16
HASH_BYTES: Final = 32
HASH_SCHEME: Final = "scrypt"

CREDENTIAL_CACHE_TTL: Final = 60.0  # seconds a verified login stays cheap to repeat
CREDENTIAL_CACHE_MAX: Final = 1024  # entries; the oldest go first when full

POSTMASTER: Final = "postmaster"  # RFC 5321 §4.5.1: reserved, case-insensitive local name


class PasswordHashError(ValueError):
    """A stored password hash is not in the documented scrypt$N$r$p$salt$hash form."""


@dataclass(frozen=True)
class ScryptHash:
    """The parsed parts of a stored password hash."""

    n: int
    r: int
    p: int
    salt: bytes
    digest: bytes

    def encode(self) -> str:
        salt = base64.b64encode(self.salt).decode("ascii")
        digest = base64.b64encode(self.digest).decode("ascii")
        return f"{HASH_SCHEME}${self.n}${self.r}${self.p}${salt}${digest}"


def _prepare(password: str) -> bytes:
    """Normalise before hashing so that equivalent Unicode spellings match (RFC 4616 §2)."""
    return unicodedata.normalize("NFKC", password).encode("utf-8")


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    maxmem = 128 * r * (n + p + 2) + (1 << 20)
    return hashlib.scrypt(_prepare(password), salt=salt, n=n, r=r, p=p, maxmem=maxmem, dklen=length)


def hash_password(
    password: str, *, salt: bytes | None = None, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P
) -> str:
    """Hash a password into the stored form (a fresh random salt unless one is given)."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    return ScryptHash(n, r, p, salt, _scrypt(password, salt, n, r, p, HASH_BYTES)).encode()


def parse_password_hash(encoded: str) -> ScryptHash:
    """Split and check a stored hash; raise PasswordHashError saying what is wrong."""
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != HASH_SCHEME:
        raise PasswordHashError("expected scrypt$N$r$p$salt_b64$hash_b64")
    try:
        n, r, p = (int(part) for part in parts[1:4])
    except ValueError:
        raise PasswordHashError("N, r and p must be decimal integers") from None
    if n < 2 or n > SCRYPT_MAX_N or n & (n - 1):
        raise PasswordHashError(f"N must be a power of two between 2 and {SCRYPT_MAX_N}")
    if not 1 <= r <= 32 or not 1 <= p <= 16:
        raise PasswordHashError("r must be 1..32 and p 1..16")
    try:
        salt = base64.b64decode(parts[4], validate=True)
        digest = base64.b64decode(parts[5], validate=True)
    except (binascii.Error, ValueError):
        raise PasswordHashError("salt and hash must be standard base64") from None
    if len(salt) < 8 or len(digest) < 16:
        raise PasswordHashError("salt must be at least 8 octets and hash at least 16")
    return ScryptHash(n, r, p, salt, digest)


def verify_password(password: str, encoded: str) -> bool:
    """Constant-time check of a password against a stored hash."""
    stored = parse_password_hash(encoded)
    candidate = _scrypt(password, stored.salt, stored.n, stored.r, stored.p, len(stored.digest))
    return hmac.compare_digest(candidate, stored.digest)


class CredentialCache:
    """Remembers recent *successful* verifications for a short time.

    Entries are keyed by (login, HMAC-SHA256(process secret, password)); the secret never
    leaves memory and dies with the process, so the cache adds nothing an attacker could
    use offline. A changed or wrong password simply misses.
    """

    def __init__(
        self,
        ttl: float = CREDENTIAL_CACHE_TTL,
        max_entries: int = CREDENTIAL_CACHE_MAX,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._clock = clock
        self._secret = secrets.token_bytes(32)
        self._entries: dict[tuple[str, bytes], float] = {}
        self._lock = threading.Lock()

    def _key(self, login: str, password: str) -> tuple[str, bytes]:
        return login, hmac.digest(self._secret, _prepare(password), "sha256")

    def hit(self, login: str, password: str) -> bool:
        key = self._key(login, password)
        with self._lock:
            expires = self._entries.get(key)
            if expires is None:
                return False
            if expires <= self._clock():
                del self._entries[key]
                return False
            return True

    def remember(self, login: str, password: str) -> None:
        key = self._key(login, password)
        with self._lock:
            self._entries.pop(key, None)
            while len(self._entries) >= self._max:
                del self._entries[next(iter(self._entries))]
            self._entries[key] = self._clock() + self._ttl


@dataclass(frozen=True)
class Account:
    """One local user: the login for AUTH/POP3/IMAP and the addresses that deliver to it."""

    login: str
    addresses: tuple[str, ...]
    password_hash: str = field(repr=False)

    @property
    def primary_address(self) -> str:
        return self.addresses[0]


def split_address(address: str) -> tuple[str, str]:
    """'Local@Example.TEST' -> ('Local', 'example.test'); the local part keeps its case."""
    local, sep, domain = address.rpartition("@")
    if not sep or not local or not domain:
        raise ValueError(f"not an address of the form local-part@domain: {address!r}")
    return local, domain.lower()


def _lookup_key(local_part: str, domain: str) -> tuple[str, str]:
    return local_part.casefold(), domain.lower()


_dummy: list[str] = []


def _dummy_hash() -> str:
    if not _dummy:
        _dummy.append(hash_password(secrets.token_hex(8)))
    return _dummy[0]


class Accounts:
    """The user directory: lookups by login and by address, and password checks."""

    def __init__(
        self,
        accounts: Sequence[Account],
        domains: Iterable[str],
        postmaster: str | None = None,
        cache: CredentialCache | None = None,
    ) -> None:
        self._domains = frozenset(domain.lower() for domain in domains)
        self._by_login: dict[str, Account] = {}
        self._by_address: dict[tuple[str, str], Account] = {}
        for account in accounts:
            if account.login in self._by_login:
                raise ValueError(f"duplicate login {account.login!r}")
            self._by_login[account.login] = account
            for address in account.addresses:
                local, domain = split_address(address)
                if domain not in self._domains:
                    raise ValueError(f"address {address!r} is not in a local domain")
                key = _lookup_key(local, domain)
                if key in self._by_address:
                    raise ValueError(f"address {address!r} is given to two accounts")
                self._by_address[key] = account
        if postmaster is None:
            self._postmaster = accounts[0] if accounts else None
        else:
            self._postmaster = self._by_login.get(postmaster)
            if self._postmaster is None:
                raise ValueError(f"postmaster {postmaster!r} is not a configured login")
        self._cache = cache if cache is not None else CredentialCache()

    @property
    def domains(self) -> frozenset[str]:
        return self._domains

    @property
    def all(self) -> tuple[Account, ...]:
        return tuple(self._by_login.values())

    @property
    def postmaster(self) -> Account | None:
        """The account that receives mail for postmaster (RFC 5321 §4.5.1)."""
        return self._postmaster

    def is_local_domain(self, domain: str) -> bool:
        return domain.lower() in self._domains

    def by_login(self, login: str) -> Account | None:
        """Logins are exact strings (SASL identities are form-free, RFC 4616 §2)."""
        return self._by_login.get(login)

    def by_address(self, local_part: str, domain: str) -> Account | None:
        """The account a local mailbox delivers to, postmaster included; None if unknown."""
        account = self._by_address.get(_lookup_key(local_part, domain))
        if account is None and local_part.casefold() == POSTMASTER and self.is_local_domain(domain):
            return self._postmaster
        return account

    def authenticate(self, login: str, password: str, authzid: str = "") -> Account | None:
        """The account if the password is right and it may act as `authzid` (RFC 4616 §2).

        An authorization identity is accepted only when it names the same user: its login
        or one of its addresses. Runs scrypt (slow by design); call it off the event loop.
        """
        account = self._by_login.get(login)
        if account is None or not password:
            # Spend the same effort as a real check so that timing does not reveal logins.
            verify_password(password or "-", _dummy_hash())
            return None
        if authzid and authzid != login and authzid.casefold() not in {a.casefold() for a in account.addresses}:
            return None
        if self._cache.hit(login, password):
            return account
        try:
            ok = verify_password(password, account.password_hash)
        except PasswordHashError:
            return None
        if ok:
            self._cache.remember(login, password)
            return account
        return None
