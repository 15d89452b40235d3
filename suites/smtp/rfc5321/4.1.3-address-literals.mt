# suites/smtp/rfc5321/4.1.3-address-literals.mt
spec: RFC5321 §4.1.3 Address Literals
state: connected

# The literals are documentation addresses (RFC 5737, RFC 3849) and loopback: whether the
# server serves them is its own business (250 or 550); the syntax must be recognized.
# Each MAIL gets a connection of its own, so no step depends on RSET.

== mailbox-address-literals-recognized MUST also="RFC5321 §4.1.2"
> For IPv6 and other forms of addressing that might eventually
> be standardized, the form consists of a standardized "tag" that
> identifies the address syntax, a colon, and the address itself
~ Mailbox = Local-part "@" ( Domain / address-literal ) (§4.1.2): IPv4 and IPv6 literals
~ in MAIL and RCPT are not syntax errors
S: 220
C: HELO $client
S: 250
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<postmaster@[127.0.0.1]>
S!: 500|501
C: RCPT TO:<postmaster@[IPv6:::1]>
S!: 500|501
! reconnect
S: 220
C: HELO $client
S: 250
C: MAIL FROM:<mailconform@[192.0.2.1]>
S!: 500|501
! reconnect
S: 220
C: HELO $client
S: 250
C: MAIL FROM:<mailconform@[IPv6:2001:db8::1]>
S!: 500|501
