"""Password hashing, the credential cache, and address lookups."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from reference_server import accounts as accounts_module
from reference_server.accounts import (
    Account,
    Accounts,
    CredentialCache,
    PasswordHashError,
    hash_password,
    parse_password_hash,
    split_address,
    verify_password,
)


def cheap(password: str) -> str:
    """Tiny scrypt costs: these tests check the format and logic, not the cost."""
    return hash_password(password, n=16, r=1, p=1)


def test_hash_format_and_verification() -> None:
    encoded = cheap("correct horse")
    assert re.fullmatch(r"scrypt\$16\$1\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+", encoded)
    assert verify_password("correct horse", encoded)
    assert not verify_password("correct horse ", encoded)
    assert cheap("x") != cheap("x")  # fresh salt each time


def test_default_parameters_are_real_scrypt_costs() -> None:
    parsed = parse_password_hash(hash_password("pw"))
    assert parsed.n >= 2**14 and parsed.r >= 8 and len(parsed.salt) >= 16 and len(parsed.digest) >= 32


def test_hash_built_independently_verifies() -> None:
    """A hash assembled by hand from hashlib.scrypt in the documented format is accepted."""
    salt = b"NaCl-salt"
    digest = hashlib.scrypt(b"password", salt=salt, n=1024, r=8, p=2, dklen=32)
    encoded = f"scrypt$1024$8$2${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"
    assert verify_password("password", encoded)
    assert not verify_password("Password", encoded)


def test_unicode_passwords_are_normalised() -> None:
    """RFC 4616 §2: prepare strings before hashing (NFKC here): equivalent spellings match."""
    encoded = cheap("caf\u00e9")
    assert verify_password("cafe\u0301", encoded)


@pytest.mark.parametrize(
    "encoded",
    [
        "",
        "bcrypt$16$1$1$AAAA$AAAA",
        "scrypt$15$1$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==",  # N not a power of two
        "scrypt$16$0$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==",
        "scrypt$16$1$1$not*base64$aGFzaGhhc2hoYXNoaGFzaA==",
        "scrypt$16$1$1$c2FsdA==$aGFzaGhhc2hoYXNoaGFzaA==",  # salt too short
        "scrypt$x$1$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==",
    ],
)
def test_malformed_hashes(encoded: str) -> None:
    with pytest.raises(PasswordHashError):
        parse_password_hash(encoded)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_credential_cache_expires_and_is_bounded() -> None:
    clock = Clock()
    cache = CredentialCache(ttl=60, max_entries=2, clock=clock)
    cache.remember("alice", "pw")
    assert cache.hit("alice", "pw")
    assert not cache.hit("alice", "other") and not cache.hit("bob", "pw")
    clock.now += 61
    assert not cache.hit("alice", "pw")
    for login in ("a", "b", "c"):
        cache.remember(login, "pw")
    assert not cache.hit("a", "pw") and cache.hit("c", "pw")


def test_cache_holds_no_password() -> None:
    cache = CredentialCache()
    cache.remember("alice", "s3cret-password")
    assert all(b"s3cret" not in key[1] for key in cache._entries)


def directory() -> Accounts:
    return Accounts(
        [
            Account("alice", ("Alice.Liddell@example.test", "alice@example.test"), cheap("alicepw")),
            Account("bob", ("bob@other.test",), cheap("bobpw")),
        ],
        ["Example.TEST", "other.test"],
        postmaster="bob",
    )


def test_lookup_by_address_is_case_insensitive_but_keeps_the_configured_form() -> None:
    accounts = directory()
    alice = accounts.by_address("alice.liddell", "EXAMPLE.test")
    assert alice is not None and alice.login == "alice"
    assert alice.primary_address == "Alice.Liddell@example.test"
    assert accounts.by_address("nobody", "example.test") is None
    assert accounts.by_address("alice", "elsewhere.test") is None
    assert accounts.is_local_domain("OTHER.test") and not accounts.is_local_domain("x.test")


def test_postmaster_at_every_local_domain() -> None:
    """RFC 5321 §4.5.1: postmaster is a case-insensitive local name at every served domain."""
    accounts = directory()
    for local, domain in (("postmaster", "example.test"), ("PostMaster", "other.test")):
        found = accounts.by_address(local, domain)
        assert found is not None and found.login == "bob"
    assert accounts.by_address("postmaster", "elsewhere.test") is None
    assert accounts.postmaster is not None and accounts.postmaster.login == "bob"


def test_authenticate_and_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    accounts = directory()
    calls = []
    real = accounts_module.verify_password

    def counting(password: str, encoded: str) -> bool:
        calls.append(password)
        return real(password, encoded)

    monkeypatch.setattr(accounts_module, "verify_password", counting)
    assert accounts.authenticate("alice", "alicepw") is not None
    assert accounts.authenticate("alice", "alicepw") is not None
    assert len(calls) == 1  # the second login was served from the cache
    assert accounts.authenticate("alice", "wrong") is None
    assert accounts.authenticate("nobody", "alicepw") is None
    assert accounts.authenticate("alice", "") is None


def test_authorization_identity() -> None:
    """RFC 4616 §2: the credentials must permit acting as the authzid."""
    accounts = directory()
    assert accounts.authenticate("alice", "alicepw", authzid="alice") is not None
    assert accounts.authenticate("alice", "alicepw", authzid="alice@example.test") is not None
    assert accounts.authenticate("alice", "alicepw", authzid="bob") is None


def test_directory_rejects_inconsistencies() -> None:
    pw = cheap("x")
    with pytest.raises(ValueError, match="duplicate login"):
        Accounts([Account("a", ("a@d.test",), pw), Account("a", ("b@d.test",), pw)], ["d.test"])
    with pytest.raises(ValueError, match="local domain"):
        Accounts([Account("a", ("a@e.test",), pw)], ["d.test"])
    with pytest.raises(ValueError, match="two accounts"):
        Accounts([Account("a", ("x@d.test",), pw), Account("b", ("X@D.test",), pw)], ["d.test"])


def test_split_address() -> None:
    assert split_address("Local.Part@Example.TEST") == ("Local.Part", "example.test")
    with pytest.raises(ValueError):
        split_address("no-at-sign")
