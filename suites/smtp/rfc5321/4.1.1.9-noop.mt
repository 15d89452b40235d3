# suites/smtp/rfc5321/4.1.1.9-noop.mt
spec: RFC5321 §4.1.1.9 NOOP (NOOP)
state: connected

== noop-250-at-any-time MUST also="RFC5321 §4.5.1"
> This command does not affect any parameters or previously entered
> commands.  It specifies no action other than that the receiver send a
> "250 OK" reply.
~ NOOP is one of the commands every receiver MUST support (§4.5.1); it is answered 250
~ outside and inside a transaction, and the transaction goes on to DATA
S: 220
C: HELO $client
S: 250
C: NOOP
S: 250
C: MAIL FROM:<$alice>
S: 250
C: NOOP
S: 250
C: RCPT TO:<$bob>
S: 250
C: NOOP
S: 250
C: DATA
S: 354
C: Subject: NOOP between every command $run
C:
C: NOOP was sent before MAIL, RCPT and DATA.
C: .
S: 250
C: NOOP
S: 250

== noop-argument-ignored SHOULD
> If a parameter string is specified, servers SHOULD ignore it.
S: 220
C: HELO $client
S: 250
C: NOOP mailconform $run
S: 250
