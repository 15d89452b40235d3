# suites/smtp/rfc3207/4-starttls-command.mt
spec: RFC3207 §4 The STARTTLS Command
requires: STARTTLS
state: greeted

== starttls-220-then-handshake SPEC
> After the client gives the STARTTLS command, the server responds with
> one of the following reply codes:
~ a server that advertises STARTTLS answers 220 and then completes a TLS handshake, after which
~ the session goes on (EHLO answered 250).
C: STARTTLS
S: 220
! starttls
C: EHLO $client
S: 250

== starttls-with-parameter-501 SPEC
> 501 Syntax error (no parameters allowed)
~ STARTTLS takes no parameters; with one, the reply is 501 and the session stays in plaintext.
C: STARTTLS now
S: 501
C: NOOP
S: 250

== starttls-refused-when-tls-active MUST cite="RFC3207 §4.2" state=tls
> Both the client and the server MUST know if there is a TLS session
> active.
~ a second STARTTLS inside the TLS session is refused (no second 220 go-ahead).
C: STARTTLS
S: 4xx|5xx
C: NOOP
S: 250
