# suites/pop3/rfc2595/4-stls.mt
spec: RFC2595 §4 POP3 STARTTLS extension
requires: STLS
state: greeted

== stls-then-tls-session SPEC also="RFC1939 §7"
> A TLS negotiation begins immediately after the CRLF at the
> end of the +OK response from the server.
~ +OK, then the handshake; inside TLS the session is still in AUTHORIZATION and a login works
C: STLS
S: +OK
! starttls
C: STAT
S: -ERR
C: USER $alice_login
S: +OK
C: PASS $alice_password
S: +OK
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)

== stls-pipelined-command-discarded SPEC also="RFC1939 §7"
> A TLS negotiation begins immediately after the CRLF at the
> end of the +OK response from the server.
~ command injection: "USER" sent in plaintext right behind STLS is not part of the TLS
~ session and must not be executed in it. No reply arrives inside TLS until the client speaks,
~ and PASS there is refused because no USER was given in the TLS session. A server that takes the
~ pipelined plaintext as the start of the handshake and closes the connection executes nothing
~ either: that ends the case, passing.
B: STLS\r\nUSER $alice_login\r\n
S: +OK
! starttls-or-close
S: <SILENT>
C: PASS $alice_password
S: -ERR
C: USER $alice_login
S: +OK
C: PASS $alice_password
S: +OK

== capa-implemented-with-stls MUST also="RFC2449 §5"
> If this is implemented, the POP3 extension mechanism [POP3EXT] MUST
> also be implemented to avoid the need for client probing of multiple
> commands.
~ CAPA before TLS answers +OK with a list that names STLS
C: CAPA
S: +OK
S| ...
S| (?i)STLS (re)
S| ...

== stls-refused-in-transaction MUST state=authenticated also="RFC1939 §3"
> The STLS command is only permitted in AUTHORIZATION state
~ RFC 1939 §3: "A server MUST respond to a command issued when the session is in an incorrect
~ state by responding with a negative status indicator."; the session goes on
C: STLS
S: -ERR
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)

== stls-refused-when-tls-active MAY state=tls
> A -ERR response
> MAY result if a security layer is already active.
~ a second STLS inside TLS is refused and the TLS session goes on
C: STLS
S: -ERR
C: USER $alice_login
S: +OK
C: PASS $alice_password
S: +OK
