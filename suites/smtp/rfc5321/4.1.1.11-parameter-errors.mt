# suites/smtp/rfc5321/4.1.1.11-parameter-errors.mt
spec: RFC5321 §4.1.1.11 Mail-Parameter and Rcpt-Parameter Error Responses
state: connected

# X-prefixed keywords are private-use (§2.2.2): no server recognizes this one.

== mail-unknown-parameter-555 SPEC
> If the server SMTP does not recognize or cannot implement one or more
> of the parameters associated with a particular MAIL FROM or RCPT TO
> command, it will return code 555.
S: 220
C: HELO $client
S: 250
C: MAIL FROM:<$alice> XMAILCONFORM=$run
S: 555

== rcpt-unknown-parameter-555 SPEC
> If the server SMTP does not recognize or cannot implement one or more
> of the parameters associated with a particular MAIL FROM or RCPT TO
> command, it will return code 555.
S: 220
C: HELO $client
S: 250
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob> XMAILCONFORM=$run
S: 555
