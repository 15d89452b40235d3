spec: RFC5321 §4.1.1.1 Extended HELLO (EHLO) or HELLO (HELO)
state: connected

== ehlo-answered-250 MUST
> servers MUST support the EHLO command
S: 220
C: EHLO $client
S: 250 wellformed

== helo-answered-250 MUST
> servers MUST support the original HELO mechanisms as a fallback.
S: 220
C: HELO $client
S: 250

== ehlo-address-literal MUST
~ the EHLO argument may be an address literal (RFC 5321 §4.1.4 ehlo = "EHLO" SP ( Domain / address-literal ) CRLF).
S: 220
C: EHLO [127.0.0.1]
S: 250

== ehlo-mid-transaction-resets MUST cite="RFC5321 §4.1.4"
> If
> it is issued after the session begins and the EHLO command is
> acceptable to the SMTP server, the SMTP server MUST clear all buffers
> and reset the state exactly as if a RSET command had been issued.
S: 220
C: EHLO $client
S: 250
C: MAIL FROM:<$alice>
S: 250
C: EHLO $client
S: 250
C: RCPT TO:<$bob>
S: 503
