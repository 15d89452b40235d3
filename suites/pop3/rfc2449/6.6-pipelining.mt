# suites/pop3/rfc2449/6.6-pipelining.mt
spec: RFC2449 §6.6 PIPELINING capability
requires: PIPELINING
state: greeted

== pipelined-commands-answered-in-order MUST
> If a server supports PIPELINING, it MUST process each
> command in turn.
~ LIST msg, RETR msg, STAT and NOOP sent in one packet are answered in that order: a scan
~ listing, a multi-line message, a drop listing, a bare +OK
! deliver alice 1
@pop pop3 state=authenticated
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)
B: LIST $count\r\nRETR $count\r\nSTAT\r\nNOOP\r\n
S: +OK (?P<count>\d+) (?P<octets>\d+)(?: .*)? (re)
S: +OK
S| ...
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)
S: +OK

== pipelined-login MUST state=tls also="RFC1939 §7" requires=STLS,USER
> If a server supports PIPELINING, it MUST process each
> command in turn.
~ USER and PASS "could be batched" (§6.6): sent in one packet with STAT, each is answered in
~ turn and the session is logged in
B: USER $alice_login\r\nPASS $alice_password\r\nSTAT\r\n
S: +OK
S: +OK
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)
