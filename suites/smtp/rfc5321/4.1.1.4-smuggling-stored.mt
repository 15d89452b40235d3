# suites/smtp/rfc5321/4.1.1.4-smuggling-stored.mt
spec: RFC5321 §4.1.1.4 DATA (DATA)
state: greeted

# The SMTP smuggling family (see 4.1.1.4-data.mt, which checks the replies), checked where
# the harm is done: in the mailbox. Behind a line-end variant that a lenient server takes for
# the end of the data hides a second transaction, from the same connection, for a message
# with Subject "smuggled $run". A conforming server either refuses the whole message (the
# reference answers 550 5.6.0 to bare line ends) or stores ONE message that carries the
# smuggled commands as text; it never stores the smuggled one as a message of its own.
#
# "No message with that Subject anywhere in the mailbox" cannot be said in the grammar, and
# both conforming outcomes must pass. So each case first delivers a marker message of its
# own; then the newest message in bob's mailbox (the last line of LIST, see
# 4.4-trace-information.mt) must be the marker (the smuggling message was refused) or the
# outer message (accepted as one message). A smuggled second message would be newer than
# both and carries neither Subject, so the case fails; so does a message of another case.
#
# A vulnerable server stores the smuggled message only after it has answered the outer one
# (and MAIL, RCPT, DATA): the case reads that first reply, then waits a second before it
# looks, so the second delivery has happened by then. The later replies are left unread:
# the wire cases judge them, this file judges the mailbox.

== lf-dot-lf-smuggled-message-not-stored MUST also="RFC5321 §2.3.8"
> In particular, the sequence "<LF>.<LF>" (bare line
> feeds, without carriage returns) MUST NOT be treated as equivalent to
> <CRLF>.<CRLF> as the end of mail data indication.
~ after <LF>.<LF> and a smuggled MAIL/RCPT/DATA transaction, the newest stored message is
~ the marker (refused) or the outer message (one message): never the smuggled one.
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
C: Subject: smuggling-marker-lf $run
C:
C: Delivered before the smuggling attempt.
C: .
S: 250
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
B: Subject: smuggling-outer-lf $run\r\n\r\nbody\n.\nMAIL FROM:<$alice>\r\nRCPT TO:<$bob>\r\nDATA\r\n
B: Subject: smuggled $run\r\n\r\nsmuggled body\r\n.\r\n
S: 250|4xx|5xx
# QUIT is answered only after everything sent before it was processed, so by its 221 a
# smuggled message would be stored; a server that ran the smuggled commands answers them first.
C: QUIT
S: 221
! deliver bob 0
@box pop3 state=authenticated as=bob
C: LIST
S: +OK *
S| ...
S| $n $octets
C: RETR $n
S: +OK *
S| ...
S| Subject: (?:smuggling-marker-lf|smuggling-outer-lf) (?P<run>\S+) (re)
S| ...
C: QUIT
S: +OK

== cr-dot-cr-smuggled-message-not-stored MUST cite="RFC5321 §2.3.8" also="RFC5321 §4.1.1.4"
> Conforming implementations MUST
> NOT recognize or generate any other character or character sequence
> as a line terminator.
~ after <CR>.<CR> and a smuggled MAIL/RCPT/DATA transaction, the newest stored message is
~ the marker (refused) or the outer message (one message): never the smuggled one.
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
C: Subject: smuggling-marker-cr $run
C:
C: Delivered before the smuggling attempt.
C: .
S: 250
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
B: Subject: smuggling-outer-cr $run\r\n\r\nbody\r.\rMAIL FROM:<$alice>\r\nRCPT TO:<$bob>\r\nDATA\r\n
B: Subject: smuggled $run\r\n\r\nsmuggled body\r\n.\r\n
S: 250|4xx|5xx
# QUIT is answered only after everything sent before it was processed, so by its 221 a
# smuggled message would be stored; a server that ran the smuggled commands answers them first.
C: QUIT
S: 221
! deliver bob 0
@box pop3 state=authenticated as=bob
C: LIST
S: +OK *
S| ...
S| $n $octets
C: RETR $n
S: +OK *
S| ...
S| Subject: (?:smuggling-marker-cr|smuggling-outer-cr) (?P<run>\S+) (re)
S| ...
C: QUIT
S: +OK
