# suites/smtp/rfc2920/3.2-server-pipelining.mt
spec: RFC2920 §3.2 Server support of pipelining
requires: PIPELINING
state: greeted

# Each B: line is one write, so the commands of a group reach the server together.

== replies-in-command-order MUST also="RFC5321 §3.3"
> (1)   MUST respond to commands in the order they are received from
> the client.
~ a group MAIL, RCPT (refused), RCPT (accepted), DATA gets 250, 4xx/5xx, 250, 354 in that order.
B: MAIL FROM:<$alice>\r\nRCPT TO:<$unknown>\r\nRCPT TO:<$bob>\r\nDATA\r\n
S: 250
S: 4xx|5xx
S: 250
S: 354
C: Subject: pipelined $run
C:
C: Sent with one group of commands.
C: .
S: 250

== failed-command-keeps-buffered-input MUST also="RFC5321 §3.3, RFC5321 §4.1.1.5"
> (9)   MUST NOT flush or otherwise lose the contents of the TCP input
> buffer under any circumstances whatsoever.
~ the commands after a refused one in the same group are all executed: RSET clears the failed
~ start and the new transaction goes through.
B: MAIL FROM:<$alice>\r\nRCPT TO:<$unknown>\r\nRSET\r\nMAIL FROM:<$alice>\r\nRCPT TO:<$bob>\r\nDATA\r\n
S: 250
S: 4xx|5xx
S: 250
S: 250
S: 250
S: 354
C: Subject: after a failure $run
C:
C: The group went on after the refused recipient.
C: .
S: 250

== pending-replies-sent-when-input-drained MUST
> (7)   MUST send all pending responses immediately whenever the local
> TCP input buffer is emptied.
~ a group that ends without DATA (MAIL, RCPT) still gets both replies: the server must not hold
~ them waiting for a command that is not coming.
B: MAIL FROM:<$alice>\r\nRCPT TO:<$bob>\r\n
S: 250
S: 250

== data-refused-without-valid-recipient SHOULD also="RFC5321 §3.3"
> (3)   SHOULD issue a positive response to the DATA command if and
> only if one or more valid RCPT TO addresses have been
> previously received.
~ MAIL, a refused RCPT and DATA in one group: DATA is refused (503 or 554, RFC 5321 §3.3).
B: MAIL FROM:<$alice>\r\nRCPT TO:<$unknown>\r\nDATA\r\n
S: 250
S: 4xx|5xx
S: 503|554

== message-and-next-transaction-in-one-group MUST cite="RFC2920 §3.1" also="RFC2920 §3.2"
> The actual transfer of message content is explicitly allowed to be
> the first "command" in a group.
~ the end of one message and the commands of the next transaction arrive together; the server
~ answers the message, then MAIL, RCPT and DATA in order (§3.2 (1), (9)).
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
B: Subject: first of two $run\r\n\r\nFirst message.\r\n.\r\nMAIL FROM:<$alice>\r\nRCPT TO:<$bob>\r\nDATA\r\n
S: 250
S: 250
S: 250
S: 354
C: Subject: second of two $run
C:
C: Second message.
C: .
S: 250
