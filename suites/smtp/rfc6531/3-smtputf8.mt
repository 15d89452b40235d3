# suites/smtp/rfc6531/3-smtputf8.mt
spec: RFC6531 §3.2 The SMTPUTF8 Extension
requires: SMTPUTF8
state: greeted

== utf8-reverse-path-accepted MUST
> An SMTP server that announces the SMTPUTF8 extension MUST be prepared
> to accept a UTF-8 string [RFC3629] in any position in which RFC 5321
> specifies that a <mailbox> can appear.
~ a reverse-path with a UTF-8 local part, sent with the SMTPUTF8 parameter, is accepted and the
~ message (with a UTF-8 header field, RFC 6532) goes through.
C: MAIL FROM:<jörg.müller@$domain> SMTPUTF8 BODY=8BITMIME
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
C: Subject: Grüße $run
C: From: Jörg Müller <jörg.müller@$domain>
C: MIME-Version: 1.0
C: Content-Type: text/plain; charset=utf-8
C: Content-Transfer-Encoding: 8bit
C:
C: Internationalised envelope and header.
C: .
S: 250

== utf8-forward-path-parsed MUST
> An SMTP server that announces the SMTPUTF8 extension MUST be prepared
> to accept a UTF-8 string [RFC3629] in any position in which RFC 5321
> specifies that a <mailbox> can appear.
~ a UTF-8 forward-path in a local domain is parsed like any other: no such mailbox (550, or 450
~ while undecided) or accepted, but not refused as a syntax error (501) or as needing ASCII (553).
C: MAIL FROM:<$alice> SMTPUTF8
S: 250
C: RCPT TO:<ünbekannt-$run@$domain>
S: 250|450|550

== smtputf8-requires-8bitmime MUST cite="RFC6531 §3.1"
> Servers offering this extension MUST provide support for, and
> announce, the 8BITMIME extension [RFC6152].
C: EHLO $client
S: 250 has=SMTPUTF8 has=8BITMIME

== utf8-reverse-path-without-parameter-550 SPEC cite="RFC6531 §3.5"
> When messages are rejected because the MAIL
> command requires an ASCII address, the reply-code 550 is returned
> with the meaning "mailbox unavailable".
~ without the SMTPUTF8 parameter a UTF-8 reverse-path may be accepted, but if the server refuses it
~ for needing ASCII, the code is 550 (not 501 or 553).
C: MAIL FROM:<jörg.müller@$domain>
S: 250|550
