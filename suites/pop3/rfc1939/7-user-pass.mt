# suites/pop3/rfc1939/7-user-pass.mt
spec: RFC1939 §7 Optional POP3 Commands: USER and PASS
state: tls
requires: USER
# Logins that must succeed are made after STLS: a server may refuse clear-text passwords on a
# connection without TLS (RFC 5034 §4, RFC 2595 §2.3).

== user-pass-login SPEC requires=STLS
> If the POP3 server responds with a positive
> status indicator ("+OK"), then the client may issue
> either the PASS command to complete the authentication,
> or the QUIT command to terminate the POP3 session.
~ USER then PASS with the right password opens the maildrop: the session is in TRANSACTION
C: USER $alice_login
S: +OK
C: PASS $alice_password
S: +OK
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)

== wrong-password-refused SPEC cite="RFC1939 §4" requires=STLS
> If the
> maildrop cannot be opened for some reason (for example, a lock can
> not be acquired, the client is denied access to the appropriate
> maildrop, or the maildrop cannot be parsed), the POP3 server responds
> with a negative status indicator.
~ a wrong password is refused and the session stays in AUTHORIZATION (STAT refused); USER may
~ be given again "after an unsuccessful USER or PASS command" (§7) and then succeeds
C: USER $alice_login
S: +OK
C: PASS not-$alice_password
S: -ERR
C: STAT
S: -ERR
C: USER $alice_login
S: +OK
C: PASS $alice_password
S: +OK
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)

== unknown-user-refused SPEC cite="RFC1939 §4" requires=STLS
> the POP3 server responds
> with a negative status indicator.
~ a name without a mailbox never opens a maildrop: USER may be answered either way (§7), PASS
~ is refused and the session stays in AUTHORIZATION
# "S!: +" accepts any final reply, +OK or -ERR: both are allowed for USER
C: USER no-such-user-$run
S!: +
C: PASS $alice_password
S: -ERR
C: STAT
S: -ERR

== user-does-not-reveal-unknown-names SPEC cite="RFC1939 §13" also="RFC1939 §7" requires=STLS
> Servers that answer -ERR to the USER command are giving potential
> attackers clues about which names are valid.
~ §7: "The server may return a positive response even though no such mailbox exists."
C: USER no-such-user-$run
S: +OK
C: PASS no-such-password
S: -ERR

== pass-without-user-refused MUST also="RFC1939 §3" state=greeted
> A server MUST respond to a command issued when the session is in an
> incorrect state by responding with a negative status indicator.
~ PASS "may only be given in the AUTHORIZATION state immediately after a successful USER
~ command" (§7): right after the greeting it is refused, and the session is not logged in
C: PASS $alice_password
S: -ERR
C: STAT
S: -ERR
