# suites/mime/rfc6531/3.1-smtputf8-stored.mt
spec: RFC6531 §3.1 Framework for the Internationalization Extension
protocol: smtp
state: greeted
requires: 8BITMIME SMTPUTF8
also: RFC6152 §3, RFC5321 §4.5.2

# A message with raw UTF-8 in its header fields (RFC 6532), sent with SMTPUTF8 and
# BODY=8BITMIME, read back over POP3 and compared octet for octet below the trace fields (see
# suites/mime/rfc5321/4.5.2-corpus-stored.mt). Such a message may go only to a server that
# announces SMTPUTF8, so the case is skipped elsewhere. The duty has no RFC 2119 keyword of
# its own here: SPEC level.

== utf8-header-fields-intact SPEC
> The mail message body is extended as specified in RFC 6532
> [RFC6532].
~ a server that announces SMTPUTF8 accepts UTF-8 in header fields; a From: display name
~ and a Reply-To: address in UTF-8 reach bob's copy as the same octets, not as
~ encoded-words or question marks.
C: MAIL FROM:<$alice> BODY=8BITMIME SMTPUTF8
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
! send-corpus smtputf8
S: 250
! stored-intact smtputf8
