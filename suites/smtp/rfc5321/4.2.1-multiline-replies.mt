# suites/smtp/rfc5321/4.2.1-multiline-replies.mt
spec: RFC5321 §4.2.1 Reply Code Severities and Theory
state: connected

# A reply whose lines all end the reply (SP after the code) looks complete after its first
# line; <SILENT> then catches the lines that should have belonged to it.

== ehlo-multiline-format MUST also="RFC5321 §4.1.1.1, RFC5321 §2.3.8"
> The format for multiline replies requires that every line, except the
> last, begin with the reply code, followed immediately by a hyphen,
> "-" (also known as minus), followed by text.
~ the EHLO reply is one well-formed reply (ehlo-ok-rsp, §4.1.1.1): "250-" on every line but
~ the last, "250 " on the last, the same code throughout; nothing follows it
S: 220
C: EHLO $client
S: 250 wellformed
S: <SILENT>

== help-multiline-format MUST requires=HELP also="RFC5321 §4.1.1.8, RFC5321 §2.3.8, RFC2034 §4"
> In a multiline reply, the reply code on each of the lines MUST be the
> same.
~ HELP is one of the commands "expected to result in multiline replies" (§4.2); its code
~ is checked elsewhere, here only the format (with enhanced status codes, the same one on
~ every line: RFC 2034 §4)
S: 220
C: HELO $client
S: 250
C: HELP
S: 2xx|5xx wellformed
S: <SILENT>
