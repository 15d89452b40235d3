# suites/pop3/rfc1939/3-basic-operation.mt
spec: RFC1939 §3 Basic Operation
state: greeted

== keywords-case-insensitive SPEC state=authenticated
> Commands in the POP3 consist of a case-insensitive keyword, possibly
> followed by one or more arguments.
~ lower-case and mixed-case keywords are the same commands as upper-case ones
C: stat
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)
C: Stat
S: +OK $count $size
C: noop
S: +OK
C: nOoP
S: +OK

== unknown-command-err-authorization MUST
> A server MUST respond to an unrecognized, unimplemented, or
> syntactically invalid command by responding with a negative status
> indicator.
~ in the AUTHORIZATION state; the session goes on (QUIT is still answered +OK)
C: XYZZY
S: -ERR
C: XYZZY with arguments
S: -ERR
C: QUIT
S: +OK

== unknown-command-err-transaction MUST state=authenticated
> A server MUST respond to an unrecognized, unimplemented, or
> syntactically invalid command by responding with a negative status
> indicator.
~ in the TRANSACTION state; the session goes on (STAT still answered)
C: XYZZY
S: -ERR
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)

== syntactically-invalid-command-err MUST state=authenticated
> A server MUST respond to an unrecognized, unimplemented, or
> syntactically invalid command by responding with a negative status
> indicator.
~ RETR and DELE without their required message-number, message-numbers that are not
~ base-10 numbers (§4), and TOP without its required line count (§7) are all refused
C: RETR
S: -ERR
C: DELE
S: -ERR
C: RETR one
S: -ERR
C: LIST x1
S: -ERR
C: DELE -1
S: -ERR
C: TOP 1
S: -ERR
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)

== transaction-commands-refused-in-authorization MUST
> A server MUST respond to a command issued when the session is in an
> incorrect state by responding with a negative status indicator.
~ STAT, LIST, RETR, DELE, NOOP, RSET (§5) and TOP, UIDL (§7) "may only be given in the
~ TRANSACTION state"; before login each is refused. Three per connection: a server may close
~ a connection after a few bad commands before login (Dovecot does after the third).
C: STAT
S: -ERR
C: LIST
S: -ERR
C: RETR 1
S: -ERR
! reconnect
C: DELE 1
S: -ERR
C: NOOP
S: -ERR
C: RSET
S: -ERR
! reconnect
C: TOP 1 0
S: -ERR
C: UIDL
S: -ERR
C: LIST 1
S: -ERR

== authorization-commands-refused-in-transaction MUST state=authenticated
> A server MUST respond to a command issued when the session is in an
> incorrect state by responding with a negative status indicator.
~ USER and APOP "may only be given in the AUTHORIZATION state" and PASS only right after a
~ successful USER (§7); after login each is refused and the session stays usable
C: USER $alice_login
S: -ERR
C: PASS $alice_password
S: -ERR
C: APOP $alice_login 0123456789abcdef0123456789abcdef
S: -ERR
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)

== multi-line-response-byte-stuffed MUST state=greeted also="RFC2449 §3, RFC5321 §4.5.2"
> If any line of the multi-line response begins with the termination
> octet, the line is "byte-stuffed" by pre-pending the termination
> octet to that line of the response.
~ RFC 2449 §3 grammar: "dot-stuffed = *CHAR CRLF ;must be dot-stuffed". A message whose lines
~ start with "." (delivered through SMTP, whose own transparency is RFC 5321 §4.5.2) comes back
~ by RETR with those lines intact after the client removes the stuffing; a lone "."
~ line in the message does not end the response early.
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
C: Message-ID: <byte-stuffing-$run@mailconform.test>
C: Subject: byte-stuffing $run
C:
C: first line
C: ..leading dot
C: ..
C: ...two dots
C: last line
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
S| Subject: byte-stuffing $run
S| ...
S| first line
S| .leading dot
# the message line that is a lone ".", not the terminator (it was sent as "..")
S| .
S| ..two dots
S| last line
C: NOOP
S: +OK
