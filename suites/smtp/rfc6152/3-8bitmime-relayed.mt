# suites/smtp/rfc6152/3-8bitmime-relayed.mt
spec: RFC6152 §3 The 8bit-MIMEtransport Service Extension
protocol: submission
state: authenticated
requires: 8BITMIME

# The server under test as an SMTP client, seen at the harness's capture next hop (see
# suites/smtp/rfc5321/3.6-relaying.mt): $relay_domain reaches the hop's listener that
# announces 8BITMIME, $legacy_domain the one that announces nothing. RFC 6152 states these
# duties without RFC 2119 keywords: SPEC level.

== eight-bit-relayed-intact SPEC
> Once a server SMTP supporting the 8bit-MIMEtransport service
> extension accepts a content body containing octets with the high-
> order (8th) bit set, the server SMTP must deliver or relay the
> content in such a way as to preserve all bits in each octet.
~ an 8bit UTF-8 body reaches a next hop that announces 8BITMIME unchanged, sent with
~ BODY=8BITMIME.
C: MAIL FROM:<sender-$case@$relay_domain> BODY=8BITMIME
S: 250
C: RCPT TO:<rcpt-$case@$relay_domain>
S: 250
C: DATA
S: 354
C: Subject: 8bit relayed $case
C: MIME-Version: 1.0
C: Content-Type: text/plain; charset=utf-8
C: Content-Transfer-Encoding: 8bit
C:
C: Grüße aus Köln – ½ € für naïve Tests.
C: .
S: 250
! hop-wait rcpt-$case@$relay_domain
H: MAIL FROM:<sender-$case@$relay_domain>* BODY=8BITMIME*
D: Grüße aus Köln – ½ € für naïve Tests.

== no-eight-bit-to-hop-without-8bitmime SPEC also="RFC5321 §6.1"
> If a server SMTP does not support the 8-bit MIME transport extension
> (either by not responding with code 250 to the EHLO command, or by
> not including the EHLO keyword value 8BITMIME in its response), then
> the client SMTP must not, under any circumstances, attempt to
> transfer a content that contains characters outside of the US-ASCII
> octet range (hex 00-7F).
~ the legacy hop does not announce 8BITMIME. The relay may convert the message to 7-bit MIME
~ or treat it as undeliverable and notify the reverse-path (RFC 6152 §3 allows both; the
~ notification is RFC 5321 §6.1's). The reverse-path is at the legacy hop too, so whichever
~ arrives first, the message or the notification, carries no octet above 7F.
C: MAIL FROM:<sender-$case@$legacy_domain> BODY=8BITMIME
S: 250
C: RCPT TO:<rcpt-$case@$legacy_domain>
S: 250
C: DATA
S: 354
C: Subject: 8bit to a 7bit hop $case
C: MIME-Version: 1.0
C: Content-Type: text/plain; charset=utf-8
C: Content-Transfer-Encoding: 8bit
C:
C: Grüße aus Köln – ½ € für naïve Tests.
C: .
S: 250
! hop-wait rcpt-$case@$legacy_domain|sender-$case@$legacy_domain
D!: .*[^\x00-\x7F].* (re)
