# suites/smtp/rfc5321/4.5.3.1.6-text-line-stored.mt
spec: RFC5321 §4.5.3.1.6 Text Line
also: RFC5321 §4.5.2
state: greeted

# A text line over the 1000-octet limit may be refused (§4.5.3.1: clients "MUST be prepared
# for a server to reject them", §4.5.3.1.9: "500 Line too long") or accepted whole (the limit
# "may be increased", and §4.5.3.1 asks for no limits where possible). What the server may
# not do is answer 250 and store a shortened line: cutting a line is a transformation of the
# stored data that cannot be undone (§4.5.2). No reply shows that, so the case reads the
# stored message back over POP3 (skipped on a target without a pop3 endpoint).
#
# Both outcomes must pass, and the grammar has no "if": so the case first delivers a marker
# message of its own, then the long one. The newest message in bob's mailbox (last line of
# LIST, see 4.4-trace-information.mt) is then either the marker (the long message was
# refused, nothing stored) or the long message, which must hold the line intact. A cut line
# matches neither, and neither does a message of some other case.

== long-line-not-silently-cut MUST
> If such
> transformations are necessary, they MUST be reversible, especially if
> they are applied to mail being relayed.
~ a text line of 1499 octets plus CRLF is either refused, or stored whole: never accepted
~ with 250 and cut (a line over the limit "MUST be prepared for a server to reject" it,
~ §4.5.3.1; that allows refusing, not silent loss).
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
C: Subject: long-line-marker $run
C: From: <$alice>
C: To: <$bob>
C:
C: Delivered before the message with the long line.
C: .
S: 250
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
C: Subject: long-line-stored $run
C: From: <$alice>
C: To: <$bob>
C:
C: ${repeat:1490:x} $run
C: after the long line
C: .
S: 250|4xx|5xx
! deliver bob 0
@box pop3 state=authenticated as=bob
C: LIST
S: +OK *
S| ...
S| $n $octets
C: RETR $n
S: +OK *
S| ...
S| (?:Subject: long-line-marker |x{1490} )(?P<run>\S+) (re)
S| ...
C: QUIT
S: +OK
