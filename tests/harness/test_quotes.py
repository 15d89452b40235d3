"""`>` quotes are checked word for word against the RFC text kept in suites/rfc/."""

from __future__ import annotations

from pathlib import Path

from harness.transcript.quotes import RFC_DIR, normalise, quote_problem, rfc_text

# RFC 5321 §4.1.4 across the page break between pages 44 and 45, as a suite would quote it.
ACROSS_PAGE_BREAK = (
    "If the EHLO command is not acceptable to the SMTP server, 501, 500,",
    "502, or 550 failure replies MUST be returned as appropriate.  The",
    "SMTP server MUST stay in the same state after transmitting these",
    "replies that it was in before the EHLO was received.",
)

FAKE_RFC = """\
Internet Engineering Task Force                              J. Doe
Request for Comments: 9999                                  Example
                                                       January 2030


1.  Introduction

   The server MUST answer every command with exactly one reply, and the
   client



Doe                        Standards Track                     [Page 1]
\f
RFC 9999                     Example Protocol                January 2030


   SHOULD wait for it.
"""


def test_normalise_folds_white_space() -> None:
    assert normalise("  a\n\tb   c \r\n") == "a b c"


def test_quote_across_a_page_break_is_found_in_the_real_rfc() -> None:
    assert (RFC_DIR / "rfc5321.txt").exists()
    assert quote_problem(ACROSS_PAGE_BREAK, [5321]) is None


def test_page_furniture_is_removed(tmp_path: Path) -> None:
    (tmp_path / "rfc9999.txt").write_text(FAKE_RFC, encoding="utf-8")
    text = rfc_text(9999, tmp_path)
    assert text is not None
    assert "[Page 1]" not in text and "January 2030" not in text.split("Introduction")[1]
    quote = ("The server MUST answer every command with exactly one reply, and the client SHOULD wait for it.",)
    assert quote_problem(quote, [9999], tmp_path) is None


def test_quote_with_a_changed_word_is_reported(tmp_path: Path) -> None:
    (tmp_path / "rfc9999.txt").write_text(FAKE_RFC, encoding="utf-8")
    problem = quote_problem(("The server SHOULD answer every command",), [9999], tmp_path)
    assert problem == "quote not found word for word in RFC 9999: 'The server SHOULD answer every command'"


def test_long_missing_quote_is_shortened_in_the_message(tmp_path: Path) -> None:
    (tmp_path / "rfc9999.txt").write_text(FAKE_RFC, encoding="utf-8")
    problem = quote_problem(("word " * 40,), [9999], tmp_path)
    assert problem is not None
    shown = problem.split(": ", 1)[1]
    assert len(shown) == 80 + 2 and shown.endswith("...'")


def test_any_cited_rfc_may_hold_the_quote(tmp_path: Path) -> None:
    (tmp_path / "rfc9999.txt").write_text(FAKE_RFC, encoding="utf-8")
    (tmp_path / "rfc9998.txt").write_text("   Nothing to see here.\n", encoding="utf-8")
    assert quote_problem(("SHOULD wait for it.",), [9998, 9999], tmp_path) is None
    assert quote_problem(("SHOULD wait for it.",), [9997, 9999], tmp_path) is None  # one text missing
    missing = quote_problem(("not there",), [9997, 9998], tmp_path)
    assert missing == "quote not found word for word in RFC 9997, RFC 9998: 'not there'"


def test_missing_rfc_text_is_reported(tmp_path: Path) -> None:
    assert rfc_text(4242, tmp_path) is None
    problem = quote_problem(("anything",), [4242], tmp_path)
    assert problem == f"no text of RFC 4242 in {tmp_path} to check the quote against"


def test_no_quote_is_nothing_to_check(tmp_path: Path) -> None:
    assert quote_problem((), [4242], tmp_path) is None
    assert quote_problem(("  ",), [5321]) is None
