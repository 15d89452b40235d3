# suites/smtp/rfc2034/4-enhanced-status-codes.mt
spec: RFC2034 §4 The Enhanced-Status-Codes service extension
requires: ENHANCEDSTATUSCODES
state: greeted

# RFC 2034 predates RFC 2119; its lower-case "must" is its requirement keyword.
#
# An ENHANCED code in an S: pattern is checked only when the reply carries one. To require
# that a reply carries one, the cases use the negation: "S!: 2xx 4.x.x" fails when a 2xx
# reply has no enhanced code (the code check is then skipped and the pattern matches) or a
# 4.x.x one, and passes for 2.x.x. "S!: 5xx 2.x.x" does the same for a 5xx reply.

== positive-reply-has-enhanced-code MUST
> These codes must appear in all 2xx, 4xx, and 5xx response lines other
> than initial greeting and any response to HELO or EHLO.
~ NOOP's 250 carries an enhanced status code.
C: NOOP
S!: 2xx 4.x.x

== negative-reply-has-enhanced-code MUST
> These codes must appear in all 2xx, 4xx, and 5xx response lines other
> than initial greeting and any response to HELO or EHLO.
~ the 5xx reply to an unknown command carries an enhanced status code.
C: XYZZY
S!: 5xx 2.x.x

== enhanced-code-agrees-with-reply-code MUST
> All status codes returned by the server must agree with the primary
> response code, that is, a 2xx response must incorporate a 2.X.X code,
> a 4xx response must incorporate a 4.X.X code, and a 5xx response must
> incorporate a 5.X.X code.
C: NOOP
S: 250 2.x.x
C: XYZZY
S: 5xx 5.x.x

== codes-sent-without-ehlo MUST state=connected
> Servers supporting this extension must attach enhanced status codes
> to their responses regardless of whether or not EHLO is employed by
> the client.
~ after HELO (no EHLO), NOOP's reply still carries an enhanced status code.
S: 220
C: HELO $client
S: 250
C: NOOP
S!: 2xx 4.x.x

== multiline-reply-same-code-on-each-line MUST also="RFC5321 §2.3.8"
> When responses are continued across multiple lines the same status
> code must appear at the beginning of the text in each line of the
> response.
~ HELP is the usual multi-line reply besides EHLO; whatever it answers (214, or 500/502 where
~ HELP is not implemented), every line starts with the same enhanced code.
C: HELP
S: 2xx|5xx wellformed
