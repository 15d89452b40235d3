spec: RFC5321 §3.3 Mail Transactions
state: greeted

== rcpt-without-mail-503 MUST
> If a
> RCPT command appears without a previous MAIL command, the server MUST
> return a 503 "Bad sequence of commands" response.
C: RCPT TO:<$bob>
S: 503

== data-without-rcpt-refused MUST
> If there was no MAIL, or no RCPT, command, or all such commands were
> rejected, the server MAY return a "command out of sequence" (503) or
> "no valid recipients" (554) reply in response to the DATA command.
~ DATA must not be accepted (354) without an accepted recipient; 503 or 554 are the replies allowed.
C: MAIL FROM:<$alice>
S: 250
C: DATA
S: 503|554

== full-transaction-delivered MUST
> If accepted, the SMTP server returns a "250 OK" reply.
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
C: Subject: mailconform $run
C:
C: A plain message.
C: .
S: 250
