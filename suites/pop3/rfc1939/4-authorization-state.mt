# suites/pop3/rfc1939/4-authorization-state.mt
spec: RFC1939 §4 The AUTHORIZATION State
state: greeted

== greeting-is-positive SPEC state=connected
> Once the TCP connection has been opened by a POP3 client, the POP3
> server issues a one line greeting.  This can be any positive
> response.
S: +OK
C: QUIT
S: +OK

== quit-in-authorization-ends-session SPEC also="RFC1939 §6"
> Note that if the client
> issues the QUIT command from the AUTHORIZATION state, the POP3
> session terminates but does NOT enter the UPDATE state.
~ QUIT before login is answered +OK (§4 "Possible Responses: +OK") and the server closes
C: QUIT
S: +OK
S: <EOF>

== message-numbers-start-at-one SPEC state=greeted also="RFC1939 §5"
> The first message in the maildrop is assigned a message-number of
> "1", the second is assigned "2", and so on, so that the nth message
> in a maildrop is assigned a message-number of "n".
~ with at least one message, the scan listing of LIST starts at 1 and the last one is the
~ message count of STAT; message 0 does not exist (two messages are delivered first, so the
~ first and the last scan listing are different lines)
! deliver alice 2
@pop pop3 state=authenticated
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)
C: LIST
S: +OK
S| 1 *
S| ...
S| $count *
C: LIST 1
S: +OK 1 *
C: LIST 0
S: -ERR

== maildrop-locked-against-other-sessions SPEC also="RFC1939 §6, RFC2449 §8.1.2" requires=STLS
> the POP3 server then acquires an exclusive-
> access lock on the maildrop, as necessary to prevent messages from
> being modified or removed before the session enters the UPDATE state.
~ while session A holds the maildrop, session B for the same user either is refused at PASS
~ (-ERR, RFC 2449 §8.1.2 names the reason IN-USE) or, if let in, cannot remove A's messages:
~ B's DELE and QUIT may be answered either way, but A still retrieves its message and a later
~ session still finds it
! deliver alice 1
@a pop3 state=authenticated
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)
C: LIST $count
S: +OK (?P<count>\d+) (?P<octets>\d+)(?: .*)? (re)
@b pop3 state=tls
# "S!: +" accepts any final reply, +OK or -ERR: both are allowed here
C: USER $alice_login
S!: +
C: PASS $alice_password
S!: +
C: DELE $count
S!: +
C: QUIT
S!: +
@a
C: RETR $count
S: +OK
S| ...
C: QUIT
S: +OK
@c pop3 state=authenticated
C: LIST $count
S: +OK (?P<count>\d+) (?P<octets>\d+)(?: .*)? (re)
