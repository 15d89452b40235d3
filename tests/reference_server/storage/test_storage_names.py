"""Folder and user names: RFC 3501 §5.1 INBOX rules and the reversible Maildir++ mapping."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference_server.storage.api import InvalidName
from reference_server.storage.names import (
    folder_directory_name,
    folder_from_directory_name,
    normalize_folder,
    superiors,
    validate_user,
)


@pytest.mark.parametrize("spelling", ["INBOX", "inbox", "Inbox", "iNbOx"])
def test_inbox_is_case_insensitive(spelling: str) -> None:
    # RFC 3501 §5.1: "The case-insensitive mailbox name INBOX is a special name".
    assert normalize_folder(spelling) == "INBOX"


def test_inbox_as_first_level_is_canonicalised_but_other_levels_keep_case() -> None:
    assert normalize_folder("inbox/Drafts") == "INBOX/Drafts"
    assert normalize_folder("Archive/inbox") == "Archive/inbox"
    assert normalize_folder("Sent") != normalize_folder("sent")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "empty"),
        ("a//b", "empty hierarchy level"),
        ("a/", "empty hierarchy level"),
        ("/a", "empty hierarchy level"),
        ("..", "'..'"),
        ("a/../b", "'..'"),
        ("./a", "'.'"),
        ("a\x00b", "control character"),
        ("a\nb", "control character"),
        ("a\udcffb", "not valid Unicode"),
        ("x" * 255, "too long"),
    ],
)
def test_invalid_folder_names_are_rejected_with_a_reason(name: str, reason: str) -> None:
    with pytest.raises(InvalidName, match=reason):
        normalize_folder(name)


def test_longest_folder_name_that_fits_in_one_directory_name() -> None:
    name = "x" * 254  # "." + 254 octets = 255 = NAME_MAX
    assert normalize_folder(name) == name


def test_directory_names_follow_maildir_plus_plus() -> None:
    assert folder_directory_name("Sent") == ".Sent"
    assert folder_directory_name("a/b") == ".a.b"
    assert folder_directory_name("v1.2/100%") == ".v1%2E2.100%25"


def test_dots_in_levels_do_not_create_hierarchy() -> None:
    assert folder_directory_name("a.b") != folder_directory_name("a/b")
    assert folder_from_directory_name(folder_directory_name("a.b")) == "a.b"


@pytest.mark.parametrize("entry", ["tmp", "new", "cur", ".", "..", ".a..b", ".INBOX", ".inbox.x", "."])
def test_entries_that_are_not_folders(entry: str) -> None:
    assert folder_from_directory_name(entry) is None


def test_foreign_percent_sequences_are_kept_verbatim() -> None:
    assert folder_from_directory_name(".100%zz") == "100%zz"


_LEVEL = st.text(
    alphabet=st.characters(blacklist_categories=["Cs", "Cc"], blacklist_characters="/"), min_size=1, max_size=12
).filter(lambda level: level not in (".", ".."))


@given(st.lists(_LEVEL, min_size=1, max_size=4))
def test_mapping_is_reversible(levels: list[str]) -> None:
    name = "/".join(levels)
    if levels[0].upper() == "INBOX":
        levels[0] = "INBOX"
        name = "/".join(levels)
    if name == "INBOX":
        return
    assert folder_from_directory_name(folder_directory_name(name)) == name


def test_superiors_outermost_first() -> None:
    assert superiors("a/b/c") == ["a", "a/b"]
    assert superiors("a") == []


@pytest.mark.parametrize("user", ["", ".", "..", "a/b", "a\x00", "x" * 256])
def test_invalid_user_names(user: str) -> None:
    with pytest.raises(InvalidName):
        validate_user(user)


def test_valid_user_names_pass_unchanged() -> None:
    assert validate_user("bob@example.org") == "bob@example.org"
