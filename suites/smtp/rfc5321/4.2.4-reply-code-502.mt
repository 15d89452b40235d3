# suites/smtp/rfc5321/4.2.4-reply-code-502.mt
spec: RFC5321 §4.2.4 Reply Code 502
state: connected

# requires= reads the EHLO keywords on a connection of its own; the cases then open with
# HELO, so no multi-line reply precedes the command checked.

== advertised-expn-implemented MUST requires=EXPN also="RFC5321 §3.5.2"
> Extended SMTP systems MUST NOT list
> capabilities in response to EHLO for which they will return 502 (or
> 500) replies.
S: 220
C: HELO $client
S: 250
C: EXPN $bob_login
S!: 500|502

== advertised-help-implemented MUST requires=HELP also="RFC5321 §4.1.1.8"
> Extended SMTP systems MUST NOT list
> capabilities in response to EHLO for which they will return 502 (or
> 500) replies.
S: 220
C: HELO $client
S: 250
C: HELP
S!: 500|502
