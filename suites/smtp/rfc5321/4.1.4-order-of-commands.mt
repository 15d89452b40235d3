# suites/smtp/rfc5321/4.1.4-order-of-commands.mt
spec: RFC5321 §4.1.4 Order of Commands
state: connected

# MAIL before EHLO/HELO is not checked: "MUST first be initialized by the use of the EHLO
# command" binds the client, and a server may accept such a MAIL (Postfix does).

== mail-inside-transaction-503 MUST
> If the commands in a transaction are out of order to the degree that
> they cannot be processed by the server, a 503 failure
> reply MUST be returned and the SMTP server MUST stay in the same
> state.
~ a second MAIL while a transaction is open is refused with 503, and the open transaction
~ (sender and recipient) goes on to DATA
S: 220
C: HELO $client
S: 250
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: MAIL FROM:<$bob>
S: 503
C: DATA
S: 354
C: Subject: nested MAIL refused $run
C:
C: A second MAIL was refused before this DATA.
C: .
S: 250

== bad-mail-argument-501-same-state MUST also="RFC5321 §3.3"
> If the transaction beginning command argument is not acceptable, a
> 501 failure reply MUST be returned and the SMTP server MUST stay in
> the same state.
~ "MAIL FROM:" with no reverse-path at all (the grammar wants "<>" or a Path, and a
~ lenient server can make nothing of it) is refused with 501 and opens no transaction:
~ the next MAIL is accepted, not refused as nested
S: 220
C: HELO $client
S: 250
C: MAIL FROM:
S: 501
C: MAIL FROM:<$alice>
S: 250

== refused-ehlo-keeps-transaction MUST
> If the EHLO command is not acceptable to the SMTP server, 501, 500,
> 502, or 550 failure replies MUST be returned as appropriate.  The
> SMTP server MUST stay in the same state after transmitting these
> replies that it was in before the EHLO was received.
~ an EHLO without its required argument (ehlo = "EHLO" SP ( Domain / address-literal )
~ CRLF) is refused; §4.3.2 adds 504 to the EHLO error codes; the open transaction survives
S: 220
C: HELO $client
S: 250
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: EHLO
S: 500|501|502|504|550
C: DATA
S: 354
C: Subject: refused EHLO inside a transaction $run
C:
C: An EHLO without argument was refused before this DATA.
C: .
S: 250

== ehlo-literal-mismatch-not-refused MUST also="RFC5321 §4.2.1"
> An SMTP server MAY verify that the domain name argument in the EHLO
> command actually corresponds to the IP address of the client.
> However, if the verification fails, the server MUST NOT refuse to
> accept a message on that basis.
~ 192.0.2.1 (RFC 5737 documentation range) is never the client's address
S: 220
C: EHLO [192.0.2.1]
S: 250
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
C: Subject: EHLO literal that is not the client's address $run
C:
C: The EHLO address literal does not match the connection.
C: .
S: 250

== commands-before-helo-processed SHOULD
> The NOOP, HELP, EXPN, VRFY, and RSET commands can be used at any time
> during a session, or without previously initializing a session.  SMTP
> servers SHOULD process these normally (that is, not return a 503
> code) even if no EHLO command has yet been received
~ HELP comes last: its reply is often multi-line
S: 220
C: NOOP
S: 250
C: RSET
S: 250
C: VRFY $bob_login
S!: 503
C: EXPN $bob_login
S!: 503
C: HELP
S!: 503
