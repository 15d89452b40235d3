# suites/smtp/rfc2920/3.1-client-pipelining.mt
spec: RFC2920 §3.1 Client use of pipelining
protocol: submission
state: authenticated
also: RFC5321 §4.3.1

# The server under test as an SMTP client, seen at the harness's capture next hop (see
# suites/smtp/rfc5321/3.6-relaying.mt). $legacy_domain is routed to the hop's listener that
# announces no extension at all; it holds each reply to MAIL and RCPT back for 0.2 s, so a
# command sent without waiting for the reply before it arrives first: `(pipelined)`.

== no-pipelining-without-announcement MUST
> Unless other arrangements are negotiated through service extensions, the sender
> MUST wait for this response before sending further commands.
~ RFC 2920 §3.1: a client may pipeline only "once the client SMTP has confirmed that support
~ exists for the pipelining extension"; the legacy hop never announces PIPELINING.
C: MAIL FROM:<sender-$case@$relay_domain>
S: 250
C: RCPT TO:<rcpt-$case@$legacy_domain>
S: 250
C: DATA
S: 354
C: Subject: one at a time $case
C: From: <sender-$case@$relay_domain>
C: To: <rcpt-$case@$legacy_domain>
C:
C: No PIPELINING at the next hop.
C: .
S: 250
! hop-wait rcpt-$case@$legacy_domain
H: RCPT TO:<rcpt-$case@$legacy_domain>*
H!: * (pipelined)
