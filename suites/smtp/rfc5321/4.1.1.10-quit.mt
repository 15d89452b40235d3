spec: RFC5321 §4.1.1.10 QUIT (QUIT)
state: greeted

== quit-221-then-close MUST
> This command specifies that the receiver MUST send a "221 OK" reply,
> and then close the transmission channel.
C: QUIT
S: 221
S: <EOF>

== quit-after-error-still-221 MUST
> The receiver MUST NOT intentionally close the transmission channel
> until it receives and replies to a QUIT command (even if there was an
> error).
C: RCPT TO:<$bob>
S: 503
C: QUIT
S: 221
S: <EOF>
