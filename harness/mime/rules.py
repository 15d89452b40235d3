"""The catalog of lint rules: one id per requirement, with its severity and the clause it enforces.

Ids are stable slugs (`family.what`) so scripts and baselines can name them. Severity follows the
RFC's own word: a MUST (or a grammar the message must match) is an error, a SHOULD is a warning.
`mailconform lint --rules` prints this table.
"""

from __future__ import annotations

from typing import Final

from harness.mime.findings import Rule, Severity

E: Final = Severity.ERROR
W: Final = Severity.WARNING

RFC5322: Final = "RFC 5322"
RFC2045: Final = "RFC 2045"
RFC2046: Final = "RFC 2046"
RFC2047: Final = "RFC 2047"
RFC6531: Final = "RFC 6531"

# Lines (RFC 5322 §2.1, §2.1.1, §2.2, §2.3)
BARE_LF: Final = Rule("line.bare-lf", E, RFC5322, "2.3", "LF only as part of CRLF")
BARE_CR: Final = Rule("line.bare-cr", E, RFC5322, "2.3", "CR only as part of CRLF")
LINE_TOO_LONG: Final = Rule("line.too-long", E, RFC5322, "2.1.1", "a line is at most 998 octets, CRLF excluded")
LINE_OVER_78: Final = Rule("line.over-78", W, RFC5322, "2.1.1", "a line SHOULD be at most 78 characters")

# Header field syntax (RFC 5322 §2.2, §2.2.3; RFC 6531 §3.2)
NO_COLON: Final = Rule("header.no-colon", E, RFC5322, "2.2", "every header line is a field (name, colon, body)")
NAME_INVALID: Final = Rule(
    "header.name-invalid", E, RFC5322, "2.2", "a field name is printable US-ASCII without ':' or space"
)
CONTINUATION_FIRST: Final = Rule(
    "header.continuation-first", E, RFC5322, "2.2.3", "a folded line continues a field; none precedes the first"
)
INVALID_OCTET: Final = Rule(
    "header.invalid-octet", E, RFC5322, "2.2", "a field body is printable US-ASCII, SP and HTAB"
)
HEADER_8BIT: Final = Rule("header.8bit", E, RFC5322, "2.2", "8-bit octets in a header field that are not UTF-8")
HEADER_UTF8: Final = Rule(
    "header.utf8", W, RFC6531, "3.2", "UTF-8 header fields may only be sent to an SMTPUTF8 server"
)

# Header fields of the message (RFC 5322 §3.3-§3.6, §4)
DATE_MISSING: Final = Rule("header.date-missing", E, RFC5322, "3.6", "Date is required")
FROM_MISSING: Final = Rule("header.from-missing", E, RFC5322, "3.6", "From is required")
DUPLICATE: Final = Rule("header.duplicate", E, RFC5322, "3.6", "at most one Date, From, Sender, To, Subject, ...")
SENDER_REQUIRED: Final = Rule(
    "header.sender-required", E, RFC5322, "3.6.2", "Sender is required when From has several mailboxes"
)
MESSAGE_ID_MISSING: Final = Rule("header.message-id-missing", W, RFC5322, "3.6.4", "a message SHOULD have a Message-ID")
MESSAGE_ID_SYNTAX: Final = Rule(
    "header.message-id-syntax", E, RFC5322, "3.6.4", "Message-ID, In-Reply-To, References hold msg-ids"
)
DATE_SYNTAX: Final = Rule("header.date-syntax", E, RFC5322, "3.3", "Date is a valid date-time")
DATE_OBSOLETE: Final = Rule(
    "header.date-obsolete", W, RFC5322, "4.3", "obsolete date-time syntax must not be generated"
)
ADDRESS_SYNTAX: Final = Rule("header.address-syntax", E, RFC5322, "3.4", "address fields hold valid addresses")
ADDRESS_OBSOLETE: Final = Rule(
    "header.address-obsolete", W, RFC5322, "4.4", "obsolete address syntax must not be generated"
)

# MIME structure (RFC 2045 §4, §5.1, §6.4; RFC 2046 §5.1.1)
VERSION_MISSING: Final = Rule("mime.version-missing", E, RFC2045, "4", "MIME-Version is required with MIME fields")
VERSION_SYNTAX: Final = Rule("mime.version-syntax", E, RFC2045, "4", "MIME-Version is 1.0")
CONTENT_TYPE_SYNTAX: Final = Rule("mime.content-type-syntax", E, RFC2045, "5.1", "Content-Type is type/subtype; params")
BOUNDARY_MISSING: Final = Rule("mime.boundary-missing", E, RFC2046, "5.1.1", "multipart requires a boundary")
BOUNDARY_SYNTAX: Final = Rule(
    "mime.boundary-syntax", E, RFC2046, "5.1.1", "a boundary is 1-70 bchars, not ending in space"
)
BOUNDARY_IN_PART: Final = Rule(
    "mime.boundary-in-part", E, RFC2046, "5.1.1", "the boundary delimiter must not appear inside a part"
)
FIRST_DELIMITER_MISSING: Final = Rule(
    "mime.first-delimiter-missing", E, RFC2046, "5.1.1", "a multipart body has at least one delimiter line"
)
CLOSE_DELIMITER_MISSING: Final = Rule(
    "mime.close-delimiter-missing", E, RFC2046, "5.1.1", "a multipart body ends with the close-delimiter"
)
COMPOSITE_ENCODING: Final = Rule(
    "mime.composite-encoding", E, RFC2045, "6.4", "multipart and message bodies only 7bit, 8bit or binary"
)

# Content-Transfer-Encoding against the content (RFC 2045 §2.7, §2.8, §6.1, §6.2)
CTE_UNKNOWN: Final = Rule("cte.unknown", E, RFC2045, "6.1", "Content-Transfer-Encoding is a known mechanism")
CTE_8BIT_IN_7BIT: Final = Rule("cte.8bit-in-7bit", E, RFC2045, "6.2", "8-bit octets are not labelled 7bit")
CTE_LINE_TOO_LONG: Final = Rule(
    "cte.line-too-long", E, RFC2045, "2.8", "7bit and 8bit data have lines of <= 998 octets"
)
CTE_NUL: Final = Rule("cte.nul", E, RFC2045, "2.8", "7bit and 8bit data contain no NUL octets")
CTE_BINARY: Final = Rule("cte.binary", W, RFC2045, "6.2", "binary bodies need a binary transport (BINARYMIME)")

# Encodings (RFC 2045 §6.7, §6.8)
BASE64_ALPHABET: Final = Rule("base64.alphabet", E, RFC2045, "6.8", "base64 uses only its 65-character alphabet")
BASE64_PADDING: Final = Rule("base64.padding", E, RFC2045, "6.8", "base64 data is whole 4-character groups")
BASE64_LINE_LENGTH: Final = Rule("base64.line-length", E, RFC2045, "6.8", "base64 lines are at most 76 characters")
QP_BAD_ESCAPE: Final = Rule("qp.bad-escape", E, RFC2045, "6.7", "'=' is followed by two uppercase hex digits or CRLF")
QP_LITERAL_OCTET: Final = Rule(
    "qp.literal-octet", E, RFC2045, "6.7", "only printable ASCII, SP and TAB appear unencoded"
)
QP_TRAILING_WHITESPACE: Final = Rule(
    "qp.trailing-whitespace", E, RFC2045, "6.7", "no SP or TAB at the end of an encoded line"
)
QP_LINE_LENGTH: Final = Rule("qp.line-length", E, RFC2045, "6.7", "quoted-printable lines are at most 76 characters")

# Text (RFC 2046 §4.1.2)
CHARSET_MISSING: Final = Rule("text.charset-missing", E, RFC2046, "4.1.2", "8-bit text declares its charset")
CHARSET_MISMATCH: Final = Rule("text.charset-mismatch", W, RFC2046, "4.1.2", "text decodes in its declared charset")

# Encoded-words (RFC 2047 §2, §5)
EW_SYNTAX: Final = Rule("rfc2047.syntax", E, RFC2047, "2", "=?charset?B|Q?encoded-text?=")
EW_LENGTH: Final = Rule("rfc2047.length", E, RFC2047, "2", "an encoded-word is at most 75 characters")
EW_TEXT: Final = Rule("rfc2047.encoded-text", E, RFC2047, "5", "encoded-text is well-formed and self-contained")
EW_PLACEMENT: Final = Rule(
    "rfc2047.placement", E, RFC2047, "5", "encoded-words only in text, comments and phrases, apart by space"
)

# The linter itself
INTERNAL: Final = Rule("lint.internal", W, "", "", "a check could not run on this input; the rest of the report stands")

ALL_RULES: Final[tuple[Rule, ...]] = (
    BARE_LF,
    BARE_CR,
    LINE_TOO_LONG,
    LINE_OVER_78,
    NO_COLON,
    NAME_INVALID,
    CONTINUATION_FIRST,
    INVALID_OCTET,
    HEADER_8BIT,
    HEADER_UTF8,
    DATE_MISSING,
    FROM_MISSING,
    DUPLICATE,
    SENDER_REQUIRED,
    MESSAGE_ID_MISSING,
    MESSAGE_ID_SYNTAX,
    DATE_SYNTAX,
    DATE_OBSOLETE,
    ADDRESS_SYNTAX,
    ADDRESS_OBSOLETE,
    VERSION_MISSING,
    VERSION_SYNTAX,
    CONTENT_TYPE_SYNTAX,
    BOUNDARY_MISSING,
    BOUNDARY_SYNTAX,
    BOUNDARY_IN_PART,
    FIRST_DELIMITER_MISSING,
    CLOSE_DELIMITER_MISSING,
    COMPOSITE_ENCODING,
    CTE_UNKNOWN,
    CTE_8BIT_IN_7BIT,
    CTE_LINE_TOO_LONG,
    CTE_NUL,
    CTE_BINARY,
    BASE64_ALPHABET,
    BASE64_PADDING,
    BASE64_LINE_LENGTH,
    QP_BAD_ESCAPE,
    QP_LITERAL_OCTET,
    QP_TRAILING_WHITESPACE,
    QP_LINE_LENGTH,
    CHARSET_MISSING,
    CHARSET_MISMATCH,
    EW_SYNTAX,
    EW_LENGTH,
    EW_TEXT,
    EW_PLACEMENT,
    INTERNAL,
)

RULES: Final = {rule.id: rule for rule in ALL_RULES}
