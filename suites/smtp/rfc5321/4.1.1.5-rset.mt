# suites/smtp/rfc5321/4.1.1.5-rset.mt
spec: RFC5321 §4.1.1.5 RESET (RSET)
state: connected

== rset-clears-transaction MUST
> This command specifies that the current mail transaction will be
> aborted.  Any stored sender, recipients, and mail data MUST be
> discarded, and all buffers and state tables cleared.
~ after RSET a new MAIL starts a transaction (it is not refused as nested), and the
~ connection stays open (§4.1.1.5: "MUST NOT close the connection as the result of
~ receiving a RSET")
S: 220
C: HELO $client
S: 250
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RSET
S: 250
C: MAIL FROM:<$bob>
S: 250
C: RSET
S: 250

== rset-always-250 MUST
> The receiver
> MUST send a "250 OK" reply to a RSET command with no arguments.
~ before HELO, right after HELO, twice in a row, inside a transaction and after a
~ completed one
S: 220
C: RSET
S: 250
C: HELO $client
S: 250
C: RSET
S: 250
C: RSET
S: 250
C: MAIL FROM:<$alice>
S: 250
C: RSET
S: 250
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
C: Subject: RSET after a completed transaction $run
C:
C: RSET follows this message.
C: .
S: 250
C: RSET
S: 250
