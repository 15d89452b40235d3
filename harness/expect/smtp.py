"""What an `S:` line of an SMTP transcript says, and whether a reply satisfies it.

Form: `CODES [ENHANCED] [has=KEYWORD] [lacks=KEYWORD] [wellformed]`

- CODES: three characters per code, digits or `x` for any digit, alternatives joined by
  `|` (`250`, `2xx`, `500|502`). Only codes and structure are matched, never reply text:
  servers word their replies as they like (RFC 5321 §4.2: the text is for humans).
- ENHANCED: an RFC 3463 code with `x` wildcards (`5.1.1`, `5.x.x`), checked when the reply
  carries one; whether it must carry one is a case of its own (RFC 2034 §3).
- has=/lacks=: an EHLO keyword the reply must (not) advertise (RFC 5321 §4.1.1.1).
- wellformed: the reply must also be free of the format defects the RFC forbids (bare
  LF, mixed codes, bad continuation markers) that the reader recorded; SHOULD-level
  findings (a code without text, no SP after a bare code) do not count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from harness.readers.smtp import SmtpReply, ehlo_keywords

CODE_RE: Final = re.compile(r"[2-5x][0-9x]{2}(\|[2-5x][0-9x]{2})*")
ENHANCED_RE: Final = re.compile(r"[245x]\.(\d{1,3}|x)\.(\d{1,3}|x)")


@dataclass(frozen=True)
class SmtpExpectation:
    codes: tuple[str, ...]
    enhanced: str | None
    has: tuple[str, ...]
    lacks: tuple[str, ...]
    wellformed: bool

    def describe(self) -> str:
        parts = ["|".join(self.codes)]
        if self.enhanced:
            parts.append(self.enhanced)
        parts += [f"has={k}" for k in self.has] + [f"lacks={k}" for k in self.lacks]
        if self.wellformed:
            parts.append("wellformed")
        return " ".join(parts)


def parse_smtp_expectation(pattern: str) -> SmtpExpectation:
    words = pattern.split()
    if not words or not CODE_RE.fullmatch(words[0]):
        raise ValueError(f"SMTP reply pattern {pattern!r}: start with a code such as 250, 5xx or 500|502")
    enhanced: str | None = None
    has: list[str] = []
    lacks: list[str] = []
    wellformed = False
    for word in words[1:]:
        if ENHANCED_RE.fullmatch(word) and enhanced is None:
            enhanced = word
        elif word.startswith("has=") and len(word) > 4:
            has.append(word[4:].upper())
        elif word.startswith("lacks=") and len(word) > 6:
            lacks.append(word[6:].upper())
        elif word == "wellformed":
            wellformed = True
        else:
            raise ValueError(
                f"SMTP reply pattern {pattern!r}: unexpected {word!r} "
                "(after the code: an enhanced code, has=KEYWORD, lacks=KEYWORD, wellformed; "
                "reply text is never matched)"
            )
    return SmtpExpectation(tuple(words[0].split("|")), enhanced, tuple(has), tuple(lacks), wellformed)


def _code_matches(spec: str, value: str) -> bool:
    return len(spec) == len(value) and all(s in ("x", v) for s, v in zip(spec, value, strict=True))


def smtp_mismatch(expectation: SmtpExpectation, reply: SmtpReply) -> str | None:
    """None when the reply satisfies the expectation, else why not (one sentence)."""
    code = f"{reply.code:03d}"
    if not any(_code_matches(spec, code) for spec in expectation.codes):
        return f"reply code {code}, expected {'|'.join(expectation.codes)}"
    if expectation.enhanced and reply.enhanced and not _enhanced_matches(expectation.enhanced, reply.enhanced):
        return f"enhanced status code {reply.enhanced}, expected {expectation.enhanced}"
    if expectation.has or expectation.lacks:
        keywords = ehlo_keywords(reply)
        for keyword in expectation.has:
            if keyword not in keywords:
                return f"EHLO reply does not advertise {keyword} (advertised: {', '.join(keywords) or 'nothing'})"
        for keyword in expectation.lacks:
            if keyword in keywords:
                return f"EHLO reply advertises {keyword}, which it must not here"
    binding = [d for d in reply.defects if not _advisory(d)]
    if expectation.wellformed and binding:
        return "malformed reply: " + "; ".join(binding)
    return None


def _advisory(defect: str) -> bool:
    """A SHOULD-level format finding (the reader names the keyword it rests on): `wellformed`
    holds a reply to what the RFC requires, so these never fail a case on their own."""
    return "SHOULD" in defect


def _enhanced_matches(spec: str, value: str) -> bool:
    wanted, got = spec.split("."), value.split(".")
    return len(wanted) == len(got) and all(
        w == "x" or (g.isdigit() and int(w) == int(g)) for w, g in zip(wanted, got, strict=True)
    )
