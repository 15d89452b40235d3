"""Maildir file names: unique keys, ":2," info, and the IMAP flag letters (RFC 3501 §2.3.2)."""

from __future__ import annotations

import re

import pytest

from reference_server.storage.api import InvalidName
from reference_server.storage.maildir import (
    filename_in_cur,
    letters_for,
    new_key,
    sizes_from_key,
    split_filename,
    split_flags,
    system_flags_from_letters,
    unique_name,
)


def test_keys_are_unique_and_shaped_like_the_maildir_spec() -> None:
    keys = {new_key(10, 12, now=1_700_000_000.25) for _ in range(1000)}
    assert len(keys) == 1000
    for key in keys:
        assert re.fullmatch(r"1700000000\.M250000P\d+Q\d+R[0-9a-f]{8}\.[^/:]+,S=10,W=12", key)


def test_unique_names_never_contain_slash_or_colon() -> None:
    name = unique_name()
    assert "/" not in name and ":" not in name


def test_sizes_are_read_back_from_the_key() -> None:
    assert sizes_from_key(new_key(1500, 1532)) == (1500, 1532)
    assert sizes_from_key("1234.foreign.host") == (None, None)
    assert sizes_from_key("1234.foreign.host,S=77") == (77, None)


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("123.abc.host", ("123.abc.host", "")),
        ("123.abc.host:2,", ("123.abc.host", "")),
        ("123.abc.host:2,FS", ("123.abc.host", "FS")),
        ("123.abc.host,S=5:2,RS", ("123.abc.host,S=5", "RS")),
        ("123.abc.host:1,experimental", ("123.abc.host", "")),
    ],
)
def test_split_filename(filename: str, expected: tuple[str, str]) -> None:
    assert split_filename(filename) == expected


def test_filename_in_cur_has_info_even_without_flags() -> None:
    assert filename_in_cur("k", "") == "k:2,"
    assert filename_in_cur("k", "RS") == "k:2,RS"


def test_flag_letters_are_the_maildir_ones_in_ascii_order() -> None:
    every = {"\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"}
    assert letters_for(every) == "DFRST"
    assert letters_for({"\\Seen"}) == "S"
    assert letters_for(set()) == ""


def test_unmapped_letters_are_kept() -> None:
    # "P" (passed) has no IMAP system flag; changing \Seen must not lose it.
    assert letters_for({"\\Seen"}, current_letters="PT") == "PS"


def test_letters_map_back_to_system_flags() -> None:
    assert system_flags_from_letters("DFPRST") == {"\\Draft", "\\Flagged", "\\Answered", "\\Seen", "\\Deleted"}
    assert system_flags_from_letters("a") == frozenset()


def test_system_flags_match_case_insensitively() -> None:
    # RFC 3501 §9 note 1: literal strings in the ABNF are case-insensitive.
    system, keywords = split_flags({"\\SEEN", "\\answered", "$Forwarded"})
    assert system == {"\\Seen", "\\Answered"}
    assert keywords == {"$Forwarded"}


def test_recent_cannot_be_stored() -> None:
    # RFC 3501 §2.3.2: "\Recent ... can not be altered by the client".
    with pytest.raises(InvalidName, match="Recent"):
        split_flags({"\\Recent"})


@pytest.mark.parametrize("bad", ["\\Unknown", "two words", "a(b", "", 'quo"te', "back\\slash", "wild*", "é"])
def test_flags_that_are_not_storable(bad: str) -> None:
    with pytest.raises(InvalidName):
        split_flags({bad})
