"""Check `>` lines against the RFC text the project keeps in suites/rfc/.

A quote that is not in the RFC is either a typo or a requirement someone invented;
either way a reader can no longer trust the citation, so it fails collection. RFC
text is compared with page furniture removed and white space folded, because a
requirement sentence may run across a page break.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Final

RFC_DIR: Final = Path(__file__).resolve().parent.parent.parent / "suites" / "rfc"
_PAGE_FOOTER: Final = re.compile(r"^\S.*\[Page \d+\]\s*$")
_PAGE_HEADER: Final = re.compile(r"^RFC \d+ .*\d{4}\s*$")


def normalise(text: str) -> str:
    return " ".join(text.split())


@functools.lru_cache(maxsize=64)
def rfc_text(number: int, directory: Path = RFC_DIR) -> str | None:
    """The RFC body, page headers, footers and form feeds removed, white space folded."""
    path = directory / f"rfc{number}.txt"
    try:
        raw = path.read_text(encoding="utf-8-sig", errors="replace")
    except FileNotFoundError:
        return None
    kept = [
        line
        for line in raw.replace("\f", "\n").splitlines()
        if not _PAGE_FOOTER.match(line) and not _PAGE_HEADER.match(line)
    ]
    return normalise("\n".join(kept))


def quote_problem(quote: tuple[str, ...], rfcs: list[int], directory: Path = RFC_DIR) -> str | None:
    """None when the quote appears word for word in one of the cited RFCs, else why not."""
    wanted = normalise(" ".join(quote))
    if not wanted:
        return None
    missing: list[int] = []
    for number in rfcs:
        text = rfc_text(number, directory)
        if text is None:
            missing.append(number)
            continue
        if wanted in text:
            return None
    if missing and len(missing) == len(rfcs):
        return f"no text of RFC {', '.join(map(str, missing))} in {directory} to check the quote against"
    shown = wanted if len(wanted) <= 80 else wanted[:77] + "..."
    cited = ", ".join(f"RFC {n}" for n in rfcs)
    return f"quote not found word for word in {cited}: {shown!r}"
