# suites/smtp/rfc5321/3.3-mail-transactions.mt
spec: RFC5321 §3.3 Mail Transactions
state: connected

# Sessions open with HELO: the cases below check transactions, not the EHLO reply format.

== rcpt-without-mail-503 MUST
> If a
> RCPT command appears without a previous MAIL command, the server MUST
> return a 503 "Bad sequence of commands" response.
S: 220
C: HELO $client
S: 250
C: RCPT TO:<$bob>
S: 503

== data-without-rcpt-refused SHOULD also="RFC2920 §3.2, RFC5321 §4.1.4"
> If there was no MAIL, or no RCPT, command, or all such commands were
> rejected, the server MAY return a "command out of sequence" (503) or
> "no valid recipients" (554) reply in response to the DATA command.
~ DATA after MAIL without an accepted recipient is refused with 503 or 554, not 354.
~ The level is RFC 2920 §3.2 (3): a server "SHOULD issue a positive response to the DATA
~ command if and only if one or more valid RCPT TO addresses have been previously
~ received"; §3.2 (4) lets it answer 354 and then deliver nothing, so this is no MUST.
S: 220
C: HELO $client
S: 250
C: MAIL FROM:<$alice>
S: 250
C: DATA
S: 503|554

== full-transaction-delivered SPEC
> If accepted, the SMTP server returns a "250 OK" reply.
~ MAIL, RCPT and DATA for a local mailbox, from a local sender, are accepted end to end
S: 220
C: HELO $client
S: 250
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

== unknown-recipient-refused SPEC
> If the
> recipient is known not to be a deliverable address, the SMTP server
> returns a 550 reply, typically with a string such as "no such user -
> " and the mailbox name (other circumstances and reply codes are
> possible).
~ a local address with no mailbox is refused at RCPT with a permanent error (any 5yz,
~ since "other ... reply codes are possible"), not accepted and dropped
S: 220
C: HELO $client
S: 250
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$unknown>
S: 5xx

== refused-recipient-keeps-transaction SPEC also="RFC5321 §4.1.1.3"
> The second step in the procedure is the RCPT command.  This step of
> the procedure can be repeated any number of times.
~ a refused RCPT does not end the transaction: the next RCPT is added and the data accepted
S: 220
C: HELO $client
S: 250
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$unknown>
S: 5xx
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
C: Subject: refused recipient, then a good one $run
C:
C: One recipient was refused before this one was accepted.
C: .
S: 250

== several-recipients SPEC also="RFC5321 §4.1.1.3"
> A series of one or more RCPT
> commands follows, giving the receiver information.
S: 220
C: HELO $client
S: 250
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$alice>
S: 250
C: DATA
S: 354
C: Subject: two recipients $run
C:
C: For two local mailboxes in one transaction.
C: .
S: 250

== several-transactions-one-connection SPEC also="RFC5321 §4.1.4, RFC5321 §4.1.1.5"
> There may be zero or more
> transactions in a session.
~ after a completed transaction and after one aborted with RSET, the same connection
~ carries a new transaction; MAIL is not "nested" once the previous one ended
S: 220
C: HELO $client
S: 250
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
C: Subject: first of three $run
C:
C: First transaction.
C: .
S: 250
C: MAIL FROM:<$bob>
S: 250
C: RCPT TO:<$alice>
S: 250
C: RSET
S: 250
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
C: Subject: third of three $run
C:
C: Third transaction; the second was aborted with RSET.
C: .
S: 250
C: QUIT
S: 221

== resent-fields-not-checked MUST
> In particular, they MUST NOT reject
> messages in which the numbers of Resent-header fields do not match or
> Resent-to appears without Resent-from and/or Resent-date.
S: 220
C: HELO $client
S: 250
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
C: Resent-To: $bob
C: Resent-Cc: $bob
C: Subject: Resent-To without Resent-From or Resent-Date $run
C:
C: The Resent- block is incomplete on purpose.
C: .
S: 250
