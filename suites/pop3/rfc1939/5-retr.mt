# suites/pop3/rfc1939/5-retr.mt
spec: RFC1939 §5 The TRANSACTION State: RETR
state: greeted

== retr-sends-whole-message SPEC
> After the initial +OK, the
> POP3 server sends the message corresponding to the given
> message-number
~ a message delivered through SMTP comes back with its header fields (the server may add trace
~ fields above them), the empty line and every body line, and nothing after the last one
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
C: Message-ID: <retr-whole-$run@mailconform.test>
C: Subject: retr-whole $run
C:
C: body line one
C:
C: body line three, after an empty line
C: .
S: 250
# no fixture: only the target's fixture_settle wait, so the mail sent above is in the maildrop
! deliver alice 0
@pop pop3 state=authenticated
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)
C: RETR $count
S: +OK
S| ...
S| From: <$alice>
S| To: <$alice>
S| Date: Thu, 26 Nov 2026 12:00:00 +0000
S| Message-ID: <retr-whole-$run@mailconform.test>
S| Subject: retr-whole $run
S| ...
S|
S| body line one
S|
S| body line three, after an empty line

== retr-no-such-message-err SPEC state=authenticated
~ "Possible Responses: ... -ERR no such message": message 0 and a number above the message
~ count (ten times the count) do not exist; the session goes on
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)
C: RETR ${count}0
S: -ERR
C: RETR 0
S: -ERR
C: STAT
S: +OK $count $size
