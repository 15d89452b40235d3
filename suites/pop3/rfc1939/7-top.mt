# suites/pop3/rfc1939/7-top.mt
spec: RFC1939 §7 Optional POP3 Commands: TOP
state: greeted
requires: TOP

== top-zero-lines-headers-only SPEC
> After the initial +OK, the
> POP3 server sends the headers of the message, the blank
> line separating the headers from the body, and then the
> number of lines of the indicated message's body
~ TOP n 0: the header fields and the empty line, no body line
@smtp smtp state=greeted
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$alice>
S: 250
C: DATA
S: 354
C: From: <$alice>
C: To: <$alice>
C: Date: Thu, 26 Nov 2026 12:00:00 +0000
C: Message-ID: <top-zero-$run@mailconform.test>
C: Subject: top-zero $run
C:
C: body one
C: body two
C: body three
C: .
S: 250
# no fixture: only the target's fixture_settle wait, so the mail sent above is in the maildrop
! deliver alice 0
@pop pop3 state=authenticated
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)
C: TOP $count 0
S: +OK
S| ...
S| Subject: top-zero $run
S| ...
S|

== top-n-lines SPEC
> After the initial +OK, the
> POP3 server sends the headers of the message, the blank
> line separating the headers from the body, and then the
> number of lines of the indicated message's body
~ TOP n 2 of a three-line body: the header fields, the empty line and the first two lines
@smtp smtp state=greeted
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$alice>
S: 250
C: DATA
S: 354
C: From: <$alice>
C: To: <$alice>
C: Date: Thu, 26 Nov 2026 12:00:00 +0000
C: Message-ID: <top-two-$run@mailconform.test>
C: Subject: top-two $run
C:
C: body one
C: body two
C: body three
C: .
S: 250
# no fixture: only the target's fixture_settle wait, so the mail sent above is in the maildrop
! deliver alice 0
@pop pop3 state=authenticated
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)
C: TOP $count 2
S: +OK
S| ...
S| Subject: top-two $run
S| ...
S|
S| body one
S| body two

== top-more-lines-than-body SPEC
> Note that if the number of lines requested by the POP3
> client is greater than than the number of lines in the
> body, then the POP3 server sends the entire message.
~ TOP n 100 of a three-line body: the whole message and nothing more
@smtp smtp state=greeted
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$alice>
S: 250
C: DATA
S: 354
C: From: <$alice>
C: To: <$alice>
C: Date: Thu, 26 Nov 2026 12:00:00 +0000
C: Message-ID: <top-all-$run@mailconform.test>
C: Subject: top-all $run
C:
C: body one
C: body two
C: body three
C: .
S: 250
# no fixture: only the target's fixture_settle wait, so the mail sent above is in the maildrop
! deliver alice 0
@pop pop3 state=authenticated
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)
C: TOP $count 100
S: +OK
S| ...
S| Subject: top-all $run
S| ...
S|
S| body one
S| body two
S| body three

== top-byte-stuffed MUST also="RFC1939 §3, RFC2449 §3, RFC5321 §4.5.2"
> being
> careful to byte-stuff the termination character (as with
> all multi-line responses).
~ body lines that start with "." (sent through SMTP with its own stuffing, RFC 5321 §4.5.2)
~ come back intact through TOP, a lone "." line included (RFC 2449 §3: "must be dot-stuffed")
@smtp smtp state=greeted
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$alice>
S: 250
C: DATA
S: 354
C: From: <$alice>
C: To: <$alice>
C: Date: Thu, 26 Nov 2026 12:00:00 +0000
C: Message-ID: <top-dots-$run@mailconform.test>
C: Subject: top-dots $run
C:
C: ..leading dot
C: ..
C: not sent by TOP 2
C: .
S: 250
# no fixture: only the target's fixture_settle wait, so the mail sent above is in the maildrop
! deliver alice 0
@pop pop3 state=authenticated
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)
C: TOP $count 2
S: +OK
S| ...
S| Subject: top-dots $run
S| ...
S|
S| .leading dot
# the message line that is a lone ".", not the terminator
S| .

== top-invalid-line-count-err MUST cite="RFC1939 §3" also="RFC1939 §7" state=authenticated
> A server MUST respond to an unrecognized, unimplemented, or
> syntactically invalid command by responding with a negative status
> indicator.
~ TOP takes "a non-negative number of lines (required)" (§7): without it, negative or not a
~ number, the command is refused; the session goes on
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)
C: TOP $count
S: -ERR
C: TOP $count -1
S: -ERR
C: TOP $count x
S: -ERR
C: STAT
S: +OK $count $size

== top-no-such-message-err SPEC state=authenticated
~ "Possible Responses: ... -ERR no such message" (example: "C: TOP 100 3 S: -ERR no such
~ message"): message 0 and a number above the message count do not exist
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)
C: TOP ${count}0 0
S: -ERR
C: TOP 0 0
S: -ERR
