"""Substitution and escapes in C:, B: and L: lines (suites/README.md, "Variables" and "Steps")."""

from __future__ import annotations

import pytest

from harness.transcript.text import (
    MAX_REPEAT,
    Literal,
    Repeat,
    TextError,
    Variable,
    parse_text,
    render,
    variables_used,
)

VARIABLES = {"alice": "alice@example.test", "alice_login": "alice", "run": "r1", "name": "caf\u00e9"}


def rendered(text: str, *, raw: bool = False) -> bytes:
    return render(parse_text(text, raw=raw), VARIABLES)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("MAIL FROM:<$alice>", b"MAIL FROM:<alice@example.test>"),
        ("MAIL FROM:<${alice}>", b"MAIL FROM:<alice@example.test>"),
        ("LOGIN $alice_login x", b"LOGIN alice x"),  # the longest name is taken
        ("${alice}_login", b"alice@example.test_login"),  # braces end a name early
        ("a1-$run.", b"a1-r1."),
        ("$$alice costs $$5", b"$alice costs $5"),
        ("$$$run", b"$r1"),
        ("${name}", "caf\u00e9".encode()),  # variables are sent as UTF-8
        ("", b""),
    ],
)
def test_variables_are_substituted(text: str, expected: bytes) -> None:
    assert rendered(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${repeat:3:ab}", b"ababab"),
        ("X${repeat:0:ab}Y", b"XY"),
        ("${repeat:2:a:b}", b"a:ba:b"),  # only the first colon after N separates
        ("${repeat:1000:x}", b"x" * 1000),
        ("a${repeat:2:-}$run", b"a--r1"),
    ],
)
def test_repeat_expands_text_n_times(text: str, expected: bytes) -> None:
    assert rendered(text) == expected


def test_pieces_keep_literals_variables_and_repeats_apart() -> None:
    assert parse_text("A $alice ${repeat:2:z}$$", raw=False) == [
        Literal(b"A "),
        Variable("alice"),
        Literal(b" "),
        Repeat(2, b"z"),
        Literal(b"$"),
    ]
    assert variables_used(parse_text("$alice ${run} $$x ${repeat:2:$}", raw=False)) == ["alice", "run"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("DATA\\r\\n", b"DATA\r\n"),
        ("bare\\nLF", b"bare\nLF"),
        ("tab\\there", b"tab\there"),
        ("nul\\0byte", b"nul\x00byte"),
        ("back\\\\slash", b"back\\slash"),
        ("\\x00\\x7f\\xFF\\x0a", b"\x00\x7f\xff\n"),
        (
            "MAIL FROM:<$alice>\\r\\nRCPT TO:<$alice>\\r\\n",
            b"MAIL FROM:<alice@example.test>\r\nRCPT TO:<alice@example.test>\r\n",
        ),
    ],
)
def test_escapes_in_raw_lines(text: str, expected: bytes) -> None:
    assert rendered(text, raw=True) == expected


@pytest.mark.parametrize("text", ["a\\r\\nb", "\\x00", "\\q", "C:\\\\path"])
def test_backslashes_are_plain_text_outside_raw_lines(text: str) -> None:
    assert rendered(text, raw=False) == text.encode()


@pytest.mark.parametrize(
    ("text", "raw", "words"),
    [
        ("MAIL FROM:<${alice>", False, ["unterminated '${'", "column 12"]),
        ("${1abc}", False, ["'${1abc}' is not a variable name or ${repeat:N:text}"]),
        ("${}", False, ["'${}' is not a variable name"]),
        ("${repeat:x:ab}", False, ["'${repeat:x:ab}': expected ${repeat:N:text} with N a whole number"]),
        ("${repeat:5}", False, ["expected ${repeat:N:text}"]),
        ("${repeat:-1:a}", False, ["with N a whole number"]),
        (f"${{repeat:{MAX_REPEAT + 1}:a}}", False, [f"repeat count above {MAX_REPEAT}"]),
        ("costs $5", False, ["'$' at column 7 starts no variable", "write $$ for a literal '$'"]),
        ("trailing $", False, ["'$' at column 10 starts no variable"]),
        ("ab\\q", True, ["unknown escape '\\q' at column 3", "\\r \\n \\t \\0 \\\\ \\xHH"]),
        ("end\\", True, ["unknown escape '\\' at column 4"]),
        ("\\x4", True, ["'\\x' at column 1 needs two hex digits"]),
        ("a\\xZZ", True, ["'\\x' at column 2 needs two hex digits"]),
    ],
)
def test_malformed_lines_raise_text_errors(text: str, raw: bool, words: list[str]) -> None:
    with pytest.raises(TextError) as raised:
        parse_text(text, raw=raw)
    for word in words:
        assert word in str(raised.value)


def test_rendering_an_undefined_variable_names_it() -> None:
    with pytest.raises(TextError, match=r"variable \$uid is not defined here"):
        render(parse_text("UIDL $uid", raw=False), VARIABLES)


def test_text_error_is_a_value_error() -> None:
    assert issubclass(TextError, ValueError)  # the parser turns ValueErrors into file:line errors
