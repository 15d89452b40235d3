# suites/smtp/rfc5321/4.5.5-null-reverse-path.mt
spec: RFC5321 §4.5.5 Messages with a Null Reverse-Path
protocol: submission
state: authenticated
also: RFC6409 §3.2

# Relayed to the harness's capture next hop (see 3.6-relaying.mt). The message is submitted
# with MAIL FROM:<>, which RFC 6409 §3.2 says an MSA MUST NOT refuse for that alone.

== null-reverse-path-kept-when-relaying SHOULD
> In particular, such systems SHOULD NOT reply to
> messages with a null reverse-path, and they SHOULD NOT add a non-null
> reverse-path, or change a null reverse-path to a non-null one, to
> such messages when forwarding.
~ a message submitted with the null reverse-path reaches the next hop with MAIL FROM:<>.
C: MAIL FROM:<>
S: 250
C: RCPT TO:<rcpt-$case@$relay_domain>
S: 250
C: DATA
S: 354
C: Subject: null reverse-path $case
C: To: <rcpt-$case@$relay_domain>
C:
C: A notification-like message.
C: .
S: 250
! hop-wait rcpt-$case@$relay_domain
H: MAIL FROM:<>*
