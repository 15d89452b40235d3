"""The corpus: every shape issue 7 asks for, exact CRLF bytes, stable between runs, and lint-clean."""

from __future__ import annotations

import base64
import email.policy
import hashlib
import os
import quopri
import re
import subprocess
import sys
from email.message import EmailMessage
from email.parser import BytesParser, Parser
from pathlib import Path

import pytest

from harness.mime import CorpusMessage, Severity, build_corpus, lint_message
from harness.mime.corpus import build_message

DOMAIN = "corpus.example"
SENDER = "alice@corpus.example"
RECIPIENT = "bob@corpus.example"
CORPUS = {m.name: m for m in build_corpus(DOMAIN, SENDER, RECIPIENT)}
REPOSITORY = Path(__file__).resolve().parents[3]

# The shapes issue 7 lists, by the names the corpus gives them.
REQUIRED_SHAPES = {
    "plain-7bit",
    "utf8-8bit",
    "quoted-printable",
    "base64-binary",
    "base64-empty",
    "base64-full-lines",
    "alternative",
    "mixed-related",
    "message-rfc822",
    "encoded-words",
    "rfc2231-filename",
    "long-headers",
    "line-998",
    "dot-lines",
    "no-final-crlf",
    "smtputf8",
    "seed-jpeg",
}
# Warnings a clean message may still earn, and why.
EXPECTED_WARNINGS = {
    "line-998": {"line.over-78"},  # 998 is allowed (MUST), longer than 78 is not recommended (SHOULD)
    "smtputf8": {"header.utf8"},  # UTF-8 header fields need an SMTPUTF8 server
}


def parsed(message: CorpusMessage) -> EmailMessage:
    result = BytesParser(policy=email.policy.default).parsebytes(message.data)
    assert isinstance(result, EmailMessage)
    return result


def lines(message: CorpusMessage) -> list[bytes]:
    return message.data.split(b"\r\n")


def test_every_required_shape_is_there_once() -> None:
    names = [m.name for m in build_corpus(DOMAIN, SENDER, RECIPIENT)]
    assert len(names) == len(set(names))
    assert set(names) == REQUIRED_SHAPES
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name) for name in names)
    assert all(m.description for m in CORPUS.values())


@pytest.mark.parametrize("name", sorted(REQUIRED_SHAPES))
def test_message_is_crlf_only_and_lints_without_errors(name: str) -> None:
    message = CORPUS[name]
    assert re.search(rb"\r(?!\n)|(?<!\r)\n", message.data) is None
    report = lint_message(message.data)
    assert report.rules(Severity.ERROR) == frozenset()
    assert report.rules() == EXPECTED_WARNINGS.get(name, set())


@pytest.mark.parametrize("name", sorted(REQUIRED_SHAPES))
def test_transport_flags_match_the_octets(name: str) -> None:
    message = CORPUS[name]
    header_section = message.data.split(b"\r\n\r\n", 1)[0]
    assert message.needs_8bitmime == any(octet > 127 for octet in message.data)
    assert message.needs_smtputf8 == any(octet > 127 for octet in header_section)


def test_parameters_reach_the_messages() -> None:
    for message in CORPUS.values():
        msg = parsed(message)
        assert SENDER in str(msg["From"]) and RECIPIENT in str(msg["To"])
        assert str(msg["Message-ID"]).endswith(f"@{DOMAIN}>")
        assert msg["Date"] is not None


def test_tag_makes_the_message_ids_of_one_case_run_its_own() -> None:
    tagged = {m.name: m for m in build_corpus(DOMAIN, SENDER, RECIPIENT, tag="c0123456789")}
    for name, message in tagged.items():
        assert str(parsed(message)["Message-ID"]) == message.message_id == f"<{name}.c0123456789@{DOMAIN}>"
        assert str(parsed(CORPUS[name])["Message-ID"]) == f"<{name}.corpus@{DOMAIN}>"  # the default tag
    with pytest.raises(ValueError, match=r"^corpus tag 'a b' "):
        build_corpus(DOMAIN, SENDER, RECIPIENT, tag="a b")


def test_one_message_alone_is_the_same_as_in_the_corpus() -> None:
    for name, message in CORPUS.items():
        assert build_message(name, DOMAIN, SENDER, RECIPIENT) == message
    with pytest.raises(KeyError):
        build_message("no-such-shape", DOMAIN, SENDER, RECIPIENT)


def test_bytes_are_stable_within_and_across_processes() -> None:
    again = {m.name: m.data for m in build_corpus(DOMAIN, SENDER, RECIPIENT)}
    assert again == {name: m.data for name, m in CORPUS.items()}
    script = (
        "import hashlib, sys; from harness.mime import build_corpus\n"
        f"for m in build_corpus({DOMAIN!r}, {SENDER!r}, {RECIPIENT!r}):\n"
        "    print(m.name, hashlib.sha256(m.data).hexdigest())\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}  # a different hash seed must not change a byte
    run = subprocess.run(
        [sys.executable, "-c", script], cwd=REPOSITORY, env=env, capture_output=True, text=True, timeout=60, check=True
    )
    here = "".join(f"{m.name} {hashlib.sha256(m.data).hexdigest()}\n" for m in CORPUS.values())
    assert run.stdout == here


def test_only_the_message_without_final_crlf_changes_in_transmission() -> None:
    for message in CORPUS.values():
        if message.name == "no-final-crlf":
            assert not message.data.endswith(b"\n")
            assert message.transmitted == message.data + b"\r\n"  # RFC 5321 §4.1.1.4
        else:
            assert message.data.endswith(b"\r\n")
            assert message.transmitted == message.data


def test_line_998_has_the_longest_allowed_line() -> None:
    assert max(len(line) for line in lines(CORPUS["line-998"])) == 998
    assert max(len(line) for m in CORPUS.values() for line in lines(m)) == 998


def test_dot_lines_include_a_lone_dot_and_leading_dots() -> None:
    body = lines(CORPUS["dot-lines"])
    assert b"." in body and b".." in body
    assert any(line.startswith(b".") and len(line) > 2 for line in body)


def test_quoted_printable_has_soft_breaks_and_encoded_trailing_white_space() -> None:
    message = CORPUS["quoted-printable"]
    raw = lines(message)
    assert any(line.endswith(b"=") for line in raw)  # soft line break, RFC 2045 §6.7 rule 5
    assert any(line.endswith((b"=20", b"=09")) for line in raw)  # rule 3: white space at a line end is encoded
    assert all(len(line) <= 76 for line in raw[raw.index(b"") :])
    decoded = quopri.decodestring(message.data.split(b"\r\n\r\n", 1)[1]).decode("utf-8")
    assert any(line.endswith((" ", "\t")) for line in decoded.splitlines())
    assert "naïve" in decoded and any(len(line) > 76 for line in decoded.splitlines())


def attachment(message: CorpusMessage) -> bytes:
    parts = [p for p in parsed(message).walk() if p.get_content_disposition() == "attachment"]
    assert len(parts) == 1
    payload = parts[0].get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload


def test_base64_attachments() -> None:
    assert len(attachment(CORPUS["base64-binary"])) == 1000
    assert attachment(CORPUS["base64-empty"]) == b""
    full = CORPUS["base64-full-lines"]
    assert len(attachment(full)) == 20 * 57
    encoded = [line for line in lines(full) if re.fullmatch(rb"[A-Za-z0-9+/=]{20,}", line)]
    assert len(encoded) == 20 and all(len(line) == 76 for line in encoded)  # 57 octets -> 76 characters
    assert b"=" not in b"".join(encoded)  # whole groups: no padding


def content_types(message: CorpusMessage) -> list[str]:
    return [part.get_content_type() for part in parsed(message).walk()]


def test_multipart_structures() -> None:
    assert content_types(CORPUS["alternative"]) == ["multipart/alternative", "text/plain", "text/html"]
    assert content_types(CORPUS["mixed-related"]) == [
        "multipart/mixed",
        "multipart/related",
        "text/html",
        "image/jpeg",
        "text/csv",
    ]
    rfc822 = content_types(CORPUS["message-rfc822"])
    assert rfc822[:3] == ["multipart/mixed", "text/plain", "message/rfc822"]
    inner = next(p for p in parsed(CORPUS["message-rfc822"]).walk() if p.get_content_type() == "message/rfc822")
    forwarded = inner.get_payload(0)
    assert isinstance(forwarded, EmailMessage) and forwarded["Subject"] == "The forwarded message"


def test_no_boundary_is_a_prefix_of_another() -> None:
    for message in CORPUS.values():
        boundaries = [b for b in (p.get_boundary() for p in parsed(message).walk()) if b]
        for one in boundaries:
            assert not any(other != one and other.startswith(one) for other in boundaries)


def test_encoded_words_b_and_q() -> None:
    message = CORPUS["encoded-words"]
    fields = message.data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    assert any(re.fullmatch(rb"Subject: =\?utf-8\?b\?\S+\?= =\?utf-8\?q\?\S+\?=", f, re.I) for f in fields)
    assert any(re.match(rb"From: =\?utf-8\?q\?", f, re.I) for f in fields)
    assert any(re.match(rb"To: =\?utf-8\?b\?", f, re.I) for f in fields)
    msg = parsed(message)
    assert msg["Subject"] == "Grüße aus Köln"
    assert msg["From"].addresses[0].display_name == "José Núñez"
    assert msg["To"].addresses[0].display_name == "Zoë Ångström"


def test_rfc2231_file_name() -> None:
    message = CORPUS["rfc2231-filename"]
    assert b"filename*0*=utf-8''" in message.data and b"filename*1*=" in message.data
    (part,) = [p for p in parsed(message).walk() if p.get_filename()]
    assert part.get_filename() == "Überweisungsbestätigung für März – naïve résumé, überlange Fassung.pdf"


def test_long_headers_are_folded_within_76() -> None:
    raw = lines(CORPUS["long-headers"])
    header = raw[: raw.index(b"")]
    assert sum(1 for line in header if line.startswith(b" ")) >= 10
    assert all(len(line) <= 76 for m in CORPUS.values() for line in lines(m)[: lines(m).index(b"")])


def test_smtputf8_message_has_utf8_in_fields_and_an_address() -> None:
    # The bytes parser keeps 8-bit header octets as surrogate escapes; RFC 6532 fields are UTF-8 text.
    msg = Parser(policy=email.policy.default).parsestr(CORPUS["smtputf8"].data.decode("utf-8"))
    assert msg["From"].addresses[0].display_name == "Jörg Müller"
    assert msg["Reply-To"].addresses[0].username == "jörg.müller"
    assert "Grüße".encode() in CORPUS["smtputf8"].data


def test_seed_example_base64_jpeg() -> None:
    msg = parsed(CORPUS["seed-jpeg"])
    assert msg["MIME-Version"] == "1.0"
    (image,) = [p for p in msg.walk() if p.get_content_type() == "image/jpeg"]
    assert image["Content-Transfer-Encoding"] == "base64"
    data = image.get_payload(decode=True)
    assert isinstance(data, bytes) and data.startswith(b"\xff\xd8") and data.endswith(b"\xff\xd9")
    assert base64.b64encode(data).decode() in CORPUS["seed-jpeg"].data.decode().replace("\r\n", "")


@pytest.mark.parametrize(
    ("domain", "sender", "recipient", "named"),
    [
        ("not a domain", SENDER, RECIPIENT, "domain"),
        (DOMAIN, "alice", RECIPIENT, "sender"),
        (DOMAIN, "Alice <alice@corpus.example>", RECIPIENT, "sender"),
        (DOMAIN, SENDER, "bob@corpus.example\r\nBcc: eve@corpus.example", "recipient"),
        (DOMAIN, SENDER, "jörg@corpus.example", "recipient"),
    ],
)
def test_arguments_that_would_break_the_corpus_are_refused(
    domain: str, sender: str, recipient: str, named: str
) -> None:
    with pytest.raises(ValueError, match=f"^corpus {named} "):
        build_corpus(domain, sender, recipient)
