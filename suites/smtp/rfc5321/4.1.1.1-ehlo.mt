# suites/smtp/rfc5321/4.1.1.1-ehlo.mt
spec: RFC5321 §4.1.1.1 Extended HELLO (EHLO) or HELLO (HELO)
state: connected

# A multi-line EHLO reply followed by more steps makes the case depend on the reply format
# (§4.2.1); such cases say so with also=, the others end at the EHLO reply or reconnect.

== ehlo-answered-250 MUST cite="RFC5321 §2.2.1"
> servers MUST support the EHLO command
S: 220
C: EHLO $client
S: 250

== helo-answered-250 MUST
> servers MUST
> support the HELO command and reply properly to it.
S: 220
C: HELO $client
S: 250

== ehlo-address-literal MUST also="RFC5321 §4.1.3, RFC5321 §4.1.4"
~ the EHLO argument may be an address literal, IPv4 or IPv6 (§4.1.1.1
~ ehlo = "EHLO" SP ( Domain / address-literal ) CRLF; forms in §4.1.3); §4.1.4: a client
~ without a meaningful name SHOULD send one, so a server must take it
S: 220
C: EHLO [192.0.2.1]
S: 250
! reconnect
S: 220
C: EHLO [IPv6:2001:db8::1]
S: 250

== ehlo-mid-transaction-resets MUST cite="RFC5321 §4.1.4" also="RFC5321 §4.2.1"
> If
> it is issued after the session begins and the EHLO command is
> acceptable to the SMTP server, the SMTP server MUST clear all buffers
> and reset the state exactly as if a RSET command had been issued.
~ after the mid-transaction EHLO a new MAIL is accepted, not refused as nested
S: 220
C: HELO $client
S: 250
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: EHLO $client
S: 250
C: MAIL FROM:<$alice>
S: 250

== helo-mid-transaction-resets SPEC also="RFC5321 §4.1.4"
> These commands, and a "250 OK" reply to one of them, confirm that
> both the SMTP client and the SMTP server are in the initial state,
> that is, there is no transaction in progress and all state tables and
> buffers are cleared.
S: 220
C: HELO $client
S: 250
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: HELO $client
S: 250
C: MAIL FROM:<$alice>
S: 250
