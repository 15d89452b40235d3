"""Parse a suite file into a Transcript, or fail with `file:line: what is wrong`.

The grammar is documented with examples in suites/README.md. Everything that can be
checked without a server is checked here — unknown keys and levels, misplaced lines,
undefined variables, malformed patterns and escapes — so a broken suite is a
collection error that names its line, never a traceback in the middle of a run.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from harness.expect.imap import parse_imap_group
from harness.expect.pop3 import parse_pop3_expectation
from harness.expect.smtp import parse_smtp_expectation
from harness.mime.corpus import SHAPES_BY_NAME as CORPUS_SHAPES
from harness.patterns import PatternError, compile_pattern
from harness.transcript.model import (
    DIRECTIVES,
    PROTOCOLS,
    Case,
    Citation,
    Directive,
    Expect,
    ExpectClose,
    ExpectSilence,
    HopExpect,
    Level,
    LiteralData,
    Send,
    Step,
    Transcript,
    UseConnection,
)
from harness.transcript.text import NAME_RE, TextError, parse_text, variables_used

TARGET_VARIABLES: Final = frozenset(
    {
        "domain",  # the target's local mail domain
        "hostname",  # the target's host name as the harness reaches it
        "client",  # the name the harness gives itself in HELO/EHLO
        "alice",
        "alice_login",
        "alice_password",
        "bob",
        "bob_login",
        "bob_password",
        "unknown",  # an address in the local domain that has no mailbox
        "foreign",  # an address in a domain the target is not responsible for
        "run",  # unique per run and worker: keeps writes to a shared server apart
        "case",  # unique per case run: relay cases' addresses never meet a message of another case
        "relay_domain",  # routed by the target to the harness's capture hop (announces extensions)
        "legacy_domain",  # routed to the capture hop's listener that announces no extension
    }
)
RELAY_VARIABLES: Final = frozenset({"relay_domain", "legacy_domain"})
"""Defined only by targets with a capture next hop ([relay] in the target file, or the reference)."""
"""Variables every target defines, so one transcript runs against any server."""

STATES: Final = {
    "smtp": ("connected", "greeted", "tls", "authenticated"),
    "submission": ("connected", "greeted", "tls", "authenticated"),
    "pop3": ("connected", "greeted", "tls", "authenticated"),
    "imap": ("connected", "greeted", "tls", "authenticated", "selected"),
}
ACCOUNTS: Final = ("alice", "bob")
FILE_KEYS: Final = ("spec", "protocol", "state", "requires", "also", "title", "as", "timeout")
CASE_KEYS: Final = ("cite", "also", "requires", "state", "as", "timeout", "title")
SLUG_RE: Final = re.compile(r"[a-z0-9][a-z0-9-]*")
CITATION_RE: Final = re.compile(r"RFC\s*(\d+)\s*§\s*([0-9A-Z][0-9A-Za-z.]*[0-9A-Za-z]|[0-9A-Z])")
SPECIAL_EXPECT: Final = {"<EOF>": ExpectClose, "<SILENT>": ExpectSilence}
HOP_PREFIXES: Final = (("H!:", "H", True), ("H:", "H", False), ("D!:", "D", True), ("D:", "D", False))
PIPELINED_SUFFIX: Final = " (pipelined)"
MAIN_CONNECTION: Final = "main"  # the connection a case starts on (harness.runner opens it)
CORPUS_STEPS: Final = ("send-corpus", "stored-intact")
MISSING_SPEC: Final = "missing 'spec: RFC<number> §<section> <title>' header"


class TranscriptError(Exception):
    """A malformed suite file; str() is `file:line: message`."""

    def __init__(self, path: Path | str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = str(path)
        self.line = line
        self.message = message


@dataclass
class _CaseBuilder:
    slug: str
    level: Level
    line: int
    options: dict[str, str]
    quote: list[str] = field(default_factory=list)
    paraphrase: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    literal: list[str] | None = None  # L: lines being collected
    literal_line: int = 0
    connection: str = MAIN_CONNECTION  # where the following steps run (`@name`)
    protocols: dict[str, str] = field(default_factory=dict)  # connections opened by `@name`
    captured: set[str] = field(default_factory=set)  # names bound by the S: and S| lines so far
    hop_message: bool = False  # an earlier `! hop-wait` gives H: and D: lines a message to look at


def parse_citation(text: str) -> tuple[Citation, str]:
    """`RFC5321 §4.1.4 Order of Commands` -> (Citation, rest)."""
    match = CITATION_RE.match(text.strip())
    if not match:
        raise ValueError(f"expected 'RFC<number> §<section>', got {text.strip()!r}")
    rest = text.strip()[match.end() :].strip()
    return Citation(int(match.group(1)), match.group(2)), rest


def protocol_from_path(relpath: Path) -> str | None:
    """suites/<protocol>/... names the protocol unless the header says otherwise."""
    for part in relpath.parts:
        if part in PROTOCOLS:
            return part
    return None


def parse_transcript(text: str, path: Path, relpath: Path | None = None) -> Transcript:
    """Parse one suite file. `path` is shown in errors; `relpath` (under suites/) makes case ids."""
    return _Parser(path, relpath or path).parse(text)


class _Parser:
    def __init__(self, path: Path, relpath: Path) -> None:
        self.path = path
        self.relpath = relpath
        self.header: dict[str, tuple[str, int]] = {}
        self.cases: list[Case] = []
        self.current: _CaseBuilder | None = None

    def error(self, line: int, message: str) -> TranscriptError:
        return TranscriptError(self.path, line, message)

    def parse(self, text: str) -> Transcript:
        lines = text.splitlines()
        for number, line in enumerate(lines, start=1):
            self._line(number, line)
        self._finish_case(len(lines) + 1)
        citation, title = self._file_citation()
        if not self.cases:
            raise self.error(len(lines) or 1, "the file has no cases (a case starts with '== slug LEVEL')")
        seen: dict[str, int] = {}
        for case in self.cases:
            if case.slug in seen:
                raise self.error(case.line, f"case slug '{case.slug}' already used on line {seen[case.slug]}")
            seen[case.slug] = case.line
        return Transcript(self.relpath, self._protocol(), citation, title, tuple(self.cases))

    # -- lines ---------------------------------------------------------------------------------

    def _line(self, number: int, line: str) -> None:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            return  # ignored everywhere, also between the L: lines of one literal
        if self.current is not None and self.current.literal is not None and not line.startswith("L:"):
            self._close_literal()
        if line.startswith("=="):
            self._finish_case(number)
            self._start_case(number, line[2:])
            return
        if self.current is None:
            self._header_line(number, line)
            return
        self._case_line(number, line)

    def _header_line(self, number: int, line: str) -> None:
        key, sep, value = line.partition(":")
        key = key.strip()
        if not sep or key not in FILE_KEYS:
            raise self.error(
                number,
                f"expected a header 'key: value' with key one of {', '.join(FILE_KEYS)}, or a case '=='",
            )
        if key in self.header:
            raise self.error(number, f"header '{key}' given twice")
        self.header[key] = (value.strip(), number)
        self._check_header_value(number, key, value.strip())

    def _check_header_value(self, number: int, key: str, value: str) -> None:
        try:
            if key == "spec":
                parse_citation(value)
            elif key == "also":
                self._citations(value)
            elif key == "protocol" and value not in PROTOCOLS:
                raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}, not {value!r}")
            elif key == "timeout":
                self._timeout(value)
            elif key == "as" and value not in ACCOUNTS:
                raise ValueError(f"'as' must be one of {', '.join(ACCOUNTS)}")
        except ValueError as exc:
            raise self.error(number, str(exc)) from None

    def _start_case(self, number: int, rest: str) -> None:
        try:
            words = shlex.split(rest)
        except ValueError as exc:
            raise self.error(number, f"case line: {exc}") from None
        if len(words) < 2:
            raise self.error(number, "a case line is '== slug LEVEL [key=value ...]'")
        slug, level_text, *opts = words
        if not SLUG_RE.fullmatch(slug):
            raise self.error(number, f"case slug {slug!r}: use lower-case letters, digits and '-'")
        try:
            level = Level(level_text)
        except ValueError:
            raise self.error(number, f"level {level_text!r}: use MUST, SHOULD, MAY or SPEC") from None
        options: dict[str, str] = {}
        for opt in opts:
            key, sep, value = opt.partition("=")
            if not sep or key not in CASE_KEYS:
                raise self.error(number, f"case option {opt!r}: expected key=value, key one of {', '.join(CASE_KEYS)}")
            options[key] = value
        self.current = _CaseBuilder(slug, level, number, options)

    def _case_line(self, number: int, line: str) -> None:
        assert self.current is not None
        case = self.current
        if line.startswith(">"):
            case.quote.append(line[1:].strip())
        elif line.startswith("~"):
            case.paraphrase.append(line[1:].strip())
        elif line.startswith("C:") or line.startswith("B:"):
            raw = line.startswith("B:")
            body = line[3:] if line[2:3] == " " else line[2:]
            self._check_text(number, body, raw=raw)
            case.steps.append(Send(number, body, raw=raw))
        elif line.startswith("L:"):
            body = line[3:] if line[2:3] == " " else line[2:]
            self._check_text(number, body, raw=False)
            if case.literal is None:
                case.literal, case.literal_line = [], number
            case.literal.append(body)
        elif line.startswith("S!:"):
            self._expect(number, line[3:].strip(), negate=True)
        elif line.startswith("S:"):
            self._expect(number, line[2:].strip(), negate=False)
        elif line.startswith("S|"):
            self._body_line(number, line[3:] if line[2:3] == " " else line[2:])
        elif hop := next((h for h in HOP_PREFIXES if line.startswith(h[0])), None):
            self._hop_expect(number, line[len(hop[0]) :].strip(), hop[1], negate=hop[2])
        elif line.startswith("!"):
            self._directive(number, line[1:].split())
        elif line.startswith("@"):
            self._use_connection(number, line[1:].split())
        else:
            raise self.error(
                number,
                f"unexpected line {line.strip()[:40]!r}: a case holds > ~ C: B: L: S: S!: S| ! @ H: H!: D: D!: lines",
            )

    # -- steps ---------------------------------------------------------------------------------

    def _check_text(self, number: int, body: str, *, raw: bool) -> None:
        try:
            pieces = parse_text(body, raw=raw)
        except TextError as exc:
            raise self.error(number, str(exc)) from None
        assert self.current is not None
        known = TARGET_VARIABLES | self.current.captured
        for name in variables_used(pieces):
            if name not in known:
                raise self.error(
                    number,
                    f"variable ${name} is neither a target variable nor captured by an earlier S: line",
                )

    def _expect(self, number: int, pattern: str, *, negate: bool) -> None:
        assert self.current is not None
        steps = self.current.steps
        if pattern in SPECIAL_EXPECT:
            if negate:
                raise self.error(number, f"S!: {pattern} makes no sense; use S: {pattern}")
            steps.append(SPECIAL_EXPECT[pattern](number))
            return
        if not pattern:
            raise self.error(number, "empty S: line: write the reply pattern (e.g. 250, +OK, a1 OK *)")
        protocol = self._connection_protocol()
        try:
            names = _reply_pattern_names(protocol, pattern)
        except ValueError as exc:
            raise self.error(number, str(exc)) from None
        if not negate:  # S!: binds nothing: a reply that must not match has nothing to capture
            self.current.captured |= names
        last = steps[-1] if steps else None
        groups = protocol == "imap" and isinstance(last, Expect) and not last.negate and not negate
        if groups and isinstance(last, Expect) and not _imap_group_closed(last.patterns):
            steps[-1] = Expect(last.line, (*last.patterns, pattern))
            return
        steps.append(Expect(number, (pattern,), negate=negate))

    def _body_line(self, number: int, pattern: str) -> None:
        assert self.current is not None
        steps = self.current.steps
        last = steps[-1] if steps else None
        if self._connection_protocol() != "pop3":
            raise self.error(number, "S| body lines belong to POP3 multi-line replies only")
        if not isinstance(last, Expect) or last.negate:
            raise self.error(number, "S| must follow the S: line of a multi-line reply")
        try:
            self.current.captured.update(compile_pattern(pattern).names)
        except PatternError as exc:
            raise self.error(number, str(exc)) from None
        steps[-1] = Expect(last.line, last.patterns, (*(last.body or ()), pattern))

    def _hop_expect(self, number: int, pattern: str, kind: str, *, negate: bool) -> None:
        assert self.current is not None
        written = f"{kind}{'!' if negate else ''}:"
        if not self.current.hop_message:
            raise self.error(number, f"{written} needs a message of the next hop: put '! hop-wait ADDRESS' before it")
        pipelined = pattern.endswith(PIPELINED_SUFFIX)
        if pipelined:
            if kind != "H":
                raise self.error(number, f"{PIPELINED_SUFFIX.strip()} marks commands: it belongs to H: lines only")
            pattern = pattern[: -len(PIPELINED_SUFFIX)].rstrip()
        if not pattern:
            raise self.error(number, f"empty {written} line: write a glob, or a regular expression ending in (re)")
        try:
            names = compile_pattern(pattern).names
        except PatternError as exc:
            raise self.error(number, str(exc)) from None
        if not negate:
            self.current.captured.update(names)
        self.current.steps.append(HopExpect(number, kind, pattern, negate, pipelined))

    def _hop_directive(self, verb: str, args: tuple[str, ...]) -> None:
        """`! hop-wait ADDRESS[|ADDRESS...] [SECONDS]`, `! hop-none ADDRESS[|ADDRESS...] SECONDS`."""
        assert self.current is not None
        alternatives = args[0].split("|")
        if not all(alternatives):
            raise ValueError(f"'! {verb}': empty address in {args[0]!r}")
        known = TARGET_VARIABLES | self.current.captured
        for address in alternatives:
            try:
                pieces = parse_text(address, raw=False)
            except TextError as exc:
                raise ValueError(f"'! {verb}': {exc}") from None
            unknown = [name for name in variables_used(pieces) if name not in known]
            if unknown:
                raise ValueError(
                    f"variable ${unknown[0]} is neither a target variable nor captured by an earlier S: line"
                )
            if "@" not in address:
                raise ValueError(f"'! {verb}': {address!r} is not an address (local-part@domain)")
        if len(args) > 1:
            self._timeout(args[1])
        if verb == "hop-wait":
            self.current.hop_message = True

    def _directive(self, number: int, words: list[str]) -> None:
        assert self.current is not None
        if not words or words[0] not in DIRECTIVES:
            raise self.error(number, f"unknown directive: use one of {', '.join('! ' + d for d in DIRECTIVES)}")
        verb, args = words[0], tuple(words[1:])
        low, high = DIRECTIVES[verb]
        if not low <= len(args) <= high:
            raise self.error(number, f"'! {verb}' takes {low}..{high} arguments, got {len(args)}")
        try:
            if verb in ("sleep", "timeout"):
                self._timeout(args[0])
            if verb == "deliver":
                if args[0] not in ACCOUNTS:
                    raise ValueError(f"'! deliver' account must be one of {', '.join(ACCOUNTS)}")
                if not all(a.isdigit() for a in args[1:]):
                    raise ValueError("'! deliver ACCOUNT COUNT [SIZE]' takes whole numbers")
            if verb in ("hop-wait", "hop-none"):
                self._hop_directive(verb, args)
            if verb in CORPUS_STEPS:
                self._corpus_directive(verb, args[0])
        except ValueError as exc:
            raise self.error(number, str(exc)) from None
        self.current.steps.append(Directive(number, verb, args))

    def _corpus_directive(self, verb: str, shape: str) -> None:
        """`! send-corpus SHAPE` on an SMTP connection after DATA's 354; `! stored-intact SHAPE` after it."""
        assert self.current is not None
        if shape not in CORPUS_SHAPES:
            raise ValueError(f"'! {verb}': no corpus message {shape!r}; the shapes are {', '.join(CORPUS_SHAPES)}")
        if verb == "send-corpus" and self._connection_protocol() not in ("smtp", "submission"):
            raise ValueError("'! send-corpus' sends mail data: it runs on an smtp or submission connection")
        if verb == "stored-intact" and not any(
            isinstance(step, Directive) and step.verb == "send-corpus" and step.args == (shape,)
            for step in self.current.steps
        ):
            raise ValueError(f"'! stored-intact {shape}' needs an earlier '! send-corpus {shape}' in the case")

    def _use_connection(self, number: int, words: list[str]) -> None:
        assert self.current is not None
        if not words or not NAME_RE.fullmatch(words[0]):
            raise self.error(number, "'@name [protocol] [state=...] [as=alice|bob]' names a connection")
        name, protocol, state, account = words[0], None, None, None
        for word in words[1:]:
            key, sep, value = word.partition("=")
            if not sep and word in PROTOCOLS:
                protocol = word
            elif key == "state":
                state = value
            elif key == "as" and value in ACCOUNTS:
                account = value
            else:
                raise self.error(number, f"'@{name}': unexpected {word!r}")
        opened = self.current.protocols.get(name)
        if opened is None and name == MAIN_CONNECTION:
            opened = self._case_protocol()
        if protocol is not None and opened is not None and protocol != opened:
            raise self.error(number, f"'@{name}' is a {opened} connection; a connection keeps its protocol")
        effective = protocol or opened or self._case_protocol()
        if state is not None and state not in STATES[effective]:
            raise self.error(number, f"state {state!r} is not one of {', '.join(STATES[effective])} for {effective}")
        self.current.protocols[name] = effective
        self.current.connection = name
        self.current.steps.append(UseConnection(number, name, protocol, state, account))

    def _close_literal(self) -> None:
        assert self.current is not None and self.current.literal is not None
        steps = self.current.steps
        announcing: Send | None = None
        after: list[Step] = []
        for position in range(len(steps) - 1, -1, -1):
            step = steps[position]
            if isinstance(step, Send):
                announcing, after = step, steps[position + 1 :]
                break
        if (
            announcing is None
            or not re.search(r"\{\}\+?$", announcing.text)
            or any(isinstance(s, LiteralData) for s in after)  # one literal per {}
        ):
            raise self.error(self.current.literal_line, "L: lines must follow a C: line ending in {} or {}+")
        steps.append(LiteralData(self.current.literal_line, tuple(self.current.literal)))
        self.current.literal = None

    # -- cases ---------------------------------------------------------------------------------

    def _finish_case(self, number: int) -> None:
        case = self.current
        if case is None:
            return
        if case.literal is not None:
            self._close_literal()
        if not case.steps:
            raise self.error(case.line, f"case '{case.slug}' has no steps")
        if not case.quote and not case.paraphrase:
            raise self.error(case.line, f"case '{case.slug}' needs its requirement: '>' quote or '~' paraphrase")
        for step in case.steps:
            if isinstance(step, Send) and re.search(r"\{\}\+?$", step.text):
                following = case.steps[case.steps.index(step) + 1 :]
                if not any(isinstance(s, LiteralData) for s in following):
                    raise self.error(step.line, "a C: line ending in {} must be followed by L: lines")
        opts = case.options
        protocol = self._case_protocol()
        file_citation, file_title = self._file_citation()
        try:
            citation = parse_citation(opts["cite"])[0] if "cite" in opts else file_citation
            also = self._citations(self.header.get("also", ("", 0))[0]) + self._citations(opts.get("also", ""))
            timeout_text = opts.get("timeout", self.header.get("timeout", ("", 0))[0])
            timeout = self._timeout(timeout_text) if timeout_text else None
        except ValueError as exc:
            raise self.error(case.line, str(exc)) from None
        state = opts.get("state", self.header.get("state", ("greeted", 0))[0])
        if state not in STATES[protocol]:
            where = case.line if "state" in opts else self.header["state"][1]
            raise self.error(where, f"state {state!r} is not one of {', '.join(STATES[protocol])} for {protocol}")
        account = opts.get("as", self.header.get("as", ("alice", 0))[0])
        if account not in ACCOUNTS:
            raise self.error(case.line, f"'as' must be one of {', '.join(ACCOUNTS)}")
        requires = _words(self.header.get("requires", ("", 0))[0]) + _words(opts.get("requires", ""))
        self._check_corpus_requirements(case, requires)
        self.cases.append(
            Case(
                slug=case.slug,
                level=case.level,
                line=case.line,
                protocol=protocol,
                citation=citation,
                also=tuple(also),
                title=opts.get("title", file_title),
                quote=tuple(case.quote),
                paraphrase=tuple(case.paraphrase),
                requires=tuple(requires),
                state=state,
                account=account,
                timeout=timeout,
                steps=tuple(case.steps),
                path=self.relpath,
            )
        )
        self.current = None

    def _check_corpus_requirements(self, case: _CaseBuilder, requires: list[str]) -> None:
        """A client must not send 8-bit data or UTF-8 header fields to a server that did not ask for them.

        RFC 6152 §3 and RFC 6531 §3.2: so a case sending such a corpus message must require the
        extension, and is skipped on a server without it instead of sending what it may not.
        """
        offered = {word.upper() for word in requires}
        for step in case.steps:
            if not (isinstance(step, Directive) and step.verb == "send-corpus"):
                continue
            shape = CORPUS_SHAPES[step.args[0]]
            for needed, extension, clause in (
                (shape.needs_8bitmime, "8BITMIME", "RFC 6152 §3"),
                (shape.needs_smtputf8, "SMTPUTF8", "RFC 6531 §3.2"),
            ):
                if needed and extension not in offered:
                    raise self.error(
                        step.line,
                        f"corpus message {shape.name!r} may go only to a server announcing {extension}"
                        f" ({clause}): add requires={extension} to the case",
                    )

    def _file_citation(self) -> tuple[Citation, str]:
        if "spec" not in self.header:
            raise self.error(1, MISSING_SPEC)
        value, number = self.header["spec"]
        try:
            citation, title = parse_citation(value)
        except ValueError as exc:
            raise self.error(number, str(exc)) from None
        return citation, self.header.get("title", (title, 0))[0] or title

    def _protocol(self) -> str:
        return self._case_protocol()

    def _connection_protocol(self) -> str:
        """The protocol of the connection the next steps run on: the case's, or the one `@name` chose."""
        assert self.current is not None
        return self.current.protocols.get(self.current.connection) or self._case_protocol()

    def _case_protocol(self) -> str:
        if "protocol" in self.header:
            return self.header["protocol"][0]
        found = protocol_from_path(self.relpath)
        if found is None:
            line = self.current.line if self.current else 1
            raise self.error(line, "no 'protocol:' header and the path names no protocol folder")
        return found

    @staticmethod
    def _citations(text: str) -> list[Citation]:
        return [parse_citation(part)[0] for part in text.split(",") if part.strip()]

    @staticmethod
    def _timeout(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"timeout {text!r} is not a number of seconds") from None
        if not 0 < value <= 600:
            raise ValueError(f"timeout {text!r} must be more than 0 and at most 600 seconds")
        return value


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[\s,]+", text) if w]


def _reply_pattern_names(protocol: str, pattern: str) -> set[str]:
    """Read an S: line as its protocol does (harness.expect), so a malformed one fails collection.

    Returns the capture names it binds. The whole line is not one glob: a POP3 pattern is a
    status word, then a response code and text that are globs (or a regex) of their own.
    """
    if protocol == "pop3":
        return parse_pop3_expectation(pattern).names
    if protocol == "imap":
        return parse_imap_group((pattern,)).names
    parse_smtp_expectation(pattern)
    return set()  # SMTP patterns are codes and keywords: nothing to capture


def _imap_group_closed(patterns: tuple[str, ...]) -> bool:
    """An IMAP reply group ends with a tagged line or a continuation request."""
    last = patterns[-1]
    return not last.startswith("* ")
