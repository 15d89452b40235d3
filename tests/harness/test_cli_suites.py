"""Which suites `mailconform check` runs: as asked, else what the endpoints given can serve."""

from __future__ import annotations

import pytest

from harness.cli import SUITE_NAMES, select_suites


@pytest.mark.parametrize(
    ("external", "expected"),
    [
        ([], list(SUITE_NAMES)),
        (["smtp"], ["smtp"]),
        (["pop3"], ["pop3"]),
        (["smtp", "pop3"], ["pop3", "smtp", "mime"]),  # MIME sends by SMTP and reads back by POP3
        (["submission", "pop3"], ["pop3", "smtp", "mime"]),
        (["smtp", "imap"], ["imap", "smtp"]),
    ],
)
def test_suites_follow_the_endpoints_given(external: list[str], expected: list[str]) -> None:
    assert select_suites(None, external) == expected


def test_suites_asked_for_win_and_unknown_ones_are_named() -> None:
    assert select_suites(" mime, pop3 ", ["smtp"]) == ["mime", "pop3"]
    with pytest.raises(ValueError, match=r"^unknown suite 'mim'; known: smtp, pop3, imap, mime$"):
        select_suites("mim", [])
