# suites/smtp/rfc6152/3-8bitmime.mt
spec: RFC6152 §3 The 8bit-MIMEtransport Service Extension
requires: 8BITMIME
state: greeted

# RFC 6152 states its server behaviour without RFC 2119 keywords: SPEC level. That the
# eight-bit octets are delivered intact needs the stored message (pending retrieval).

== body-8bitmime-accepted SPEC
> If the server SMTP responds with code 250 to the EHLO
> command, and the response includes the EHLO keyword value 8BITMIME,
> then the server SMTP is indicating that it supports the extended MAIL
> command and will accept MIME messages containing arbitrary octet-
> aligned material.
C: MAIL FROM:<$alice> BODY=8BITMIME
S: 250

== body-7bit-accepted SPEC
> The value associated with the BODY parameter indicates whether the
> content body that will be passed using the DATA command consists of a
> MIME message containing some arbitrary octet-aligned material
> ("8BITMIME") or is encoded entirely in accordance with RFC 5321
> ("7BIT").
C: MAIL FROM:<$alice> BODY=7BIT
S: 250

== eight-bit-message-accepted SPEC
> If the server SMTP responds with code 250 to the EHLO
> command, and the response includes the EHLO keyword value 8BITMIME,
> then the server SMTP is indicating that it supports the extended MAIL
> command and will accept MIME messages containing arbitrary octet-
> aligned material.
~ a MIME message with an 8bit UTF-8 text body, announced with BODY=8BITMIME, is accepted.
C: MAIL FROM:<$alice> BODY=8BITMIME
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
C: Subject: 8bit body $run
C: MIME-Version: 1.0
C: Content-Type: text/plain; charset=utf-8
C: Content-Transfer-Encoding: 8bit
C:
C: Grüße aus Köln – ½ € für naïve Tests.
C: .
S: 250
