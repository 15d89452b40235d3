# suites/smtp/rfc5321/4.1.1.10-quit.mt
spec: RFC5321 §4.1.1.10 QUIT (QUIT)
state: connected

== quit-221-then-close MUST
> This command specifies that the receiver MUST send a "221 OK" reply,
> and then close the transmission channel.
S: 220
C: HELO $client
S: 250
C: QUIT
S: 221
S: <EOF>

== quit-after-error-still-221 MUST also="RFC5321 §3.8"
> The receiver MUST NOT intentionally close the transmission channel
> until it receives and replies to a QUIT command (even if there was an
> error).
S: 220
C: HELO $client
S: 250
C: XMAILCONFORMUNKNOWN
S: 5xx
C: QUIT
S: 221
S: <EOF>

== quit-before-helo MUST
> The QUIT command may be issued at any time.
~ the receiver MUST send 221 and close, also when no session was opened with EHLO/HELO
S: 220
C: QUIT
S: 221
S: <EOF>

== quit-inside-transaction MUST
> The QUIT command may be issued at any time.  Any current uncompleted
> mail transaction will be aborted.
~ QUIT between RCPT and DATA is still answered 221, then the connection closes
S: 220
C: HELO $client
S: 250
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: QUIT
S: 221
S: <EOF>
