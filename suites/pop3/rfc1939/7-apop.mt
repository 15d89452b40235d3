# suites/pop3/rfc1939/7-apop.mt
spec: RFC1939 §7 Optional POP3 Commands: APOP
state: greeted

== apop-wrong-digest-refused SPEC
> Otherwise, a negative
> response is issued and the POP3 session remains in the
> AUTHORIZATION state.
~ a digest that cannot be right is refused (a server without APOP refuses the command too,
~ §3) and the session is not logged in
C: APOP $alice_login 00000000000000000000000000000000
S: -ERR
C: STAT
S: -ERR
C: QUIT
S: +OK

== apop-timestamp-differs-each-greeting MUST state=connected requires=APOP
> The syntax of
> the timestamp corresponds to the `msg-id' in [RFC822], and
> MUST be different each time the POP3 server issues a banner
> greeting.
~ the timestamp in angle brackets of the next greeting is another one
S: +OK *<$stamp>*
! reconnect
S!: +OK *<$stamp>*
