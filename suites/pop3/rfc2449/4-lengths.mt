# suites/pop3/rfc2449/4-lengths.mt
spec: RFC2449 §4 Parameter and Response Lengths
state: tls
requires: STLS, USER

== command-of-255-octets-supported MUST
> Servers which support the CAPA command MUST support commands up to
> 255 octets.
~ a USER command of exactly 255 octets with its CRLF is read as one command and answered
~ (either way: a long name need not exist); the session goes on and a normal login follows
# "S!: +" accepts any final reply, +OK or -ERR
C: USER ${repeat:248:x}
S!: +
C: PASS not-the-password
S: -ERR
C: USER $alice_login
S: +OK
C: PASS $alice_password
S: +OK
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)
