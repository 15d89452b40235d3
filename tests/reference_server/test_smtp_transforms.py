"""The mime.* storage faults: each damages exactly what it names, under any fragmentation of the data."""

from __future__ import annotations

import pytest

from reference_server.faults import Faults
from tests.reference_server.test_smtp_data import decode, splits

SENT = (
    b"Subject: a field folded\r\n over two lines\r\nX-Tab: tab\r\n\tfolded\r\n\r\n"
    b"-- \r\nGr\xc3\xbc\xc3\x9fe \t\r\n" + b"x" * 100 + b"\r\n body line\r\n"
)
DATA = SENT + b".\r\n"


@pytest.mark.parametrize(
    ("fault", "stored"),
    [
        (None, SENT),
        (
            "mime.trailing-whitespace-stripped",
            SENT.replace(b"-- \r\n", b"--\r\n").replace(b"\xc3\x9fe \t\r\n", b"\xc3\x9fe\r\n"),
        ),
        ("mime.long-lines-rewrapped", SENT.replace(b"x" * 100, b"x" * 78 + b"\r\n" + b"x" * 22)),
        ("mime.footer-appended", SENT + b"-- \r\nScanned for viruses: no threats found.\r\n"),
        ("mime.eighth-bit-cleared", SENT.replace(b"\xc3\xbc\xc3\x9f", b"C<C\x1f")),
        (
            # Only the header section is unfolded: " body line" in the body is not a continuation.
            "mime.header-fields-unfolded",
            SENT.replace(b"folded\r\n over", b"folded over").replace(b"tab\r\n\tfolded", b"tab\tfolded"),
        ),
    ],
)
def test_each_storage_fault_changes_only_what_it_names(fault: str | None, stored: bytes) -> None:
    faults = Faults(frozenset({fault})) if fault else Faults()
    decoded, rest, defects = decode([DATA], faults=faults)
    assert (decoded, rest, defects) == (stored, b"", set())


@pytest.mark.parametrize("pieces", splits(DATA))
@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ("mime.header-fields-unfolded", b"Subject: a field folded over two lines\r\nX-Tab: tab\tfolded\r\n\r\n"),
        ("mime.long-lines-rewrapped", b"x" * 78 + b"\r\n" + b"x" * 22 + b"\r\n"),
    ],
)
def test_faults_hold_across_any_split(pieces: list[bytes], fault: str, expected: bytes) -> None:
    stored, rest, _ = decode(pieces, faults=Faults(frozenset({fault})))
    assert rest == b""
    assert expected in stored
