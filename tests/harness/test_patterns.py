"""Globs with captures, and ` (re)` regular expressions (suites/README.md, "Patterns")."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from harness.patterns import PatternError, compile_pattern, match_pattern


def match(pattern: str, subject: str, bound: Mapping[str, str] | None = None) -> dict[str, str] | None:
    return match_pattern(compile_pattern(pattern), subject, bound or {})


@pytest.mark.parametrize(
    ("pattern", "subject"),
    [
        ("*", ""),
        ("*", "anything at all"),
        ("OK *", "OK LOGIN completed"),
        ("OK *", "OK "),
        ("* EXISTS", "* 18 EXISTS"),
        ("a*b*c", "a--b--c"),
        ("a*c", "a\r\nc"),  # literals inside a response may carry line ends
        ("a.b", "a.b"),
        ("(x)[y]+?", "(x)[y]+?"),  # regex characters are plain text in a glob
    ],
)
def test_glob_matches(pattern: str, subject: str) -> None:
    assert match(pattern, subject) == {}


@pytest.mark.parametrize(
    ("pattern", "subject"),
    [
        ("OK", "OK then"),  # the whole subject must match
        ("OK", "NOT OK"),
        ("a.b", "axb"),
        ("a*c", "a--b"),
        ("", "x"),
    ],
)
def test_glob_mismatches(pattern: str, subject: str) -> None:
    assert match(pattern, subject) is None


def test_capture_binds_a_run_of_non_space_characters() -> None:
    assert match("$count $size", "2 320") == {"count": "2", "size": "320"}
    assert match("$uid", "whqtswO00WBw418f9t5JxYwZ") == {"uid": "whqtswO00WBw418f9t5JxYwZ"}
    assert match("$word", "two words") is None
    assert match("$word", "") is None
    assert match("${n}th", "5th") == {"n": "5"}


def test_bound_capture_must_equal_its_value() -> None:
    assert match("$count messages", "2 messages", {"count": "2"}) == {}
    assert match("$count messages", "3 messages", {"count": "2"}) is None
    assert match("$n.$n", "a.b.a.b", {"n": "a.b"}) == {}  # bound values are text, not patterns


def test_capture_repeated_in_one_pattern_must_repeat_its_value() -> None:
    assert match("$x-$x", "ab-ab") == {"x": "ab"}
    assert match("$x-$x", "ab-cd") is None
    assert match("* $a $b $a", "* 1 2 1") == {"a": "1", "b": "2"}


@pytest.mark.parametrize(
    ("pattern", "subject", "other"),
    [
        ("a\\*b", "a*b", "axb"),
        ("\\$5", "$5", "x5"),
        ("a\\\\b", "a\\b", "a\\\\b"),
        ("$$5", "$5", "x5"),
        ("(\\Seen)", "(\\Seen)", "(Seen)"),  # a backslash before anything else is itself
    ],
)
def test_escapes_stand_for_themselves(pattern: str, subject: str, other: str) -> None:
    assert match(pattern, subject) == {}
    assert match(pattern, other) is None


def test_regex_patterns_match_whole_subjects_and_capture_named_groups() -> None:
    assert match(r"25\d (re)", "250") == {}
    assert match(r"25\d (re)", "2500") is None
    assert match(r"(?P<count>\d+) (?P<size>\d+) (re)", "2 320") == {"count": "2", "size": "320"}
    assert match(r"(?P<a>x)?y (re)", "y") == {}  # a group that took no part binds nothing
    assert match(r"(?P<n>\d+) (re)", "7", {"n": "7"}) == {"n": "7"}
    assert match(r"(?P<n>\d+) (re)", "8", {"n": "7"}) is None


def test_names_lists_what_a_pattern_captures() -> None:
    assert compile_pattern("+OK $count ${size} *").names == ("count", "size")
    assert compile_pattern(r"(?P<tag>\w+) OK (re)").names == ("tag",)
    assert compile_pattern("a \\$b").names == ()


def test_regex_suffix_needs_its_space() -> None:
    assert match("x(re)", "x(re)") == {}  # without the space it is a glob


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        ("([ (re)", ["bad regular expression '(['"]),
        ("(?P<1>x) (re)", ["bad regular expression"]),
        ("OK $", ["'$' at column 4 starts no capture name", "write \\$ for '$'"]),
        ("OK $ 5", ["'$' at column 4"]),
        ("${name", ["'$' at column 1 starts no capture name"]),
        ("$1x", ["'$' at column 1"]),
    ],
)
def test_malformed_patterns_raise(pattern: str, words: list[str]) -> None:
    with pytest.raises(PatternError) as raised:
        compile_pattern(pattern)
    for word in words:
        assert word in str(raised.value)
