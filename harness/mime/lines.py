"""A message as numbered lines, split exactly where the `email` package's parser splits them.

The parser ends a line at CRLF, at a bare LF and at a bare CR (`email.feedparser`), so line
numbers here agree with the structure it finds; the linter reports the bare ones separately.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

_LINE: Final = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)?")


@dataclass(frozen=True)
class Line:
    number: int  # 1-based, as an editor shows it when every line ends in CRLF
    start: int  # offset of the first octet in the message
    text: bytes  # without the line end
    ending: bytes  # b"\r\n", b"\n", b"\r", or b"" for a last line without one

    @property
    def blank(self) -> bool:
        return not self.text and bool(self.ending)


def split_lines(data: bytes) -> tuple[Line, ...]:
    lines: list[Line] = []
    position = 0
    while position < len(data):
        match = _LINE.match(data, position)
        assert match is not None  # the pattern matches the empty string, so it always matches
        raw = match.group()
        text = raw.rstrip(b"\r\n")
        lines.append(Line(len(lines) + 1, position, text, raw[len(text) :]))
        position = match.end()
    return tuple(lines)
