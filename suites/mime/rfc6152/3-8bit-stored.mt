# suites/mime/rfc6152/3-8bit-stored.mt
spec: RFC6152 §3 The 8bit-MIMEtransport Service Extension
protocol: smtp
state: greeted
requires: 8BITMIME
also: RFC5321 §4.5.2

# An 8bit UTF-8 message of the MIME corpus sent with BODY=8BITMIME and read back over POP3,
# compared octet for octet below the trace fields (see suites/mime/rfc5321/4.5.2-corpus-stored.mt).
# A server that does not announce 8BITMIME is never sent 8-bit data (the client "must not,
# under any circumstances" — RFC 6152 §3): the case is skipped there. RFC 6152 states its
# server duties without RFC 2119 keywords: SPEC level, as in suites/smtp/rfc6152.

== utf8-8bit-intact SPEC
> Once a server SMTP supporting the 8bit-MIMEtransport service
> extension accepts a content body containing octets with the high-
> order (8th) bit set, the server SMTP must deliver or relay the
> content in such a way as to preserve all bits in each octet.
~ text/plain; charset=utf-8 with Content-Transfer-Encoding: 8bit: every octet, high bit
~ included, is in bob's copy; not re-encoded to quoted-printable or base64.
C: MAIL FROM:<$alice> BODY=8BITMIME
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
! send-corpus utf8-8bit
S: 250
! stored-intact utf8-8bit
