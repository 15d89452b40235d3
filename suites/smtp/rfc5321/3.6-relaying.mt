# suites/smtp/rfc5321/3.6-relaying.mt
spec: RFC5321 §3.6 Relaying and Mail Routing
protocol: submission
state: authenticated

# Relay cases. The server under test is the SMTP client here: an authenticated submission
# hands it mail for $relay_domain, which the target routes to the harness's capture next hop
# (the reference server: relay.test; an external target: [relay] in its target file, without
# which these cases are skipped). `! hop-wait ADDRESS` waits until the hop has accepted a
# message for ADDRESS; H: lines then read the commands of that hop session, D: lines the
# message data as the hop received it (unstuffed). $case is new for every run of a case, so
# no message of another case, or a retry left over from one, can be taken for this one.
# The hop answers `reject-...` recipients with 550, so the notification (bounce) for them
# goes to the reverse-path, an address at the hop as well.

== relayed-with-same-envelope SPEC cite="RFC5321 §3.6.1"
> When source routes are not used, the process described in RFC 821 for
> constructing a reverse-path from the forward-path is not applicable
> and the reverse-path at the time of delivery will simply be the
> address that appeared in the MAIL command.
~ the relay hands the message on with the reverse-path and the forward-path it was given.
C: MAIL FROM:<sender-$case@$relay_domain>
S: 250
C: RCPT TO:<rcpt-$case@$relay_domain>
S: 250
C: DATA
S: 354
C: Subject: relayed $case
C: From: <sender-$case@$relay_domain>
C: To: <rcpt-$case@$relay_domain>
C:
C: Relayed to the next hop.
C: .
S: 250
! hop-wait rcpt-$case@$relay_domain
H: MAIL FROM:<sender-$case@$relay_domain>*
H: RCPT TO:<rcpt-$case@$relay_domain>*
H: DATA

== content-relayed-unchanged MUST cite="RFC5321 §3.6.3" also="RFC5321 §4.5.2"
> As discussed in Section 6.4, a relay SMTP has no need to inspect or
> act upon the header section or body of the message data and MUST NOT
> do so except to add its own "Received:" header field (Section 4.4)
> and, optionally, to attempt to detect looping in the mail system (see
> Section 6.3).
~ every header and body line reaches the next hop as submitted and in the same order; a line
~ that starts with a period is content too, so the relay's client must stuff it (§4.5.2).
C: MAIL FROM:<sender-$case@$relay_domain>
S: 250
C: RCPT TO:<rcpt-$case@$relay_domain>
S: 250
C: DATA
S: 354
C: Subject: unchanged $case
C: From: <sender-$case@$relay_domain>
C: To: <rcpt-$case@$relay_domain>
C: X-Mailconform-Note: a header field the relay has no business with
C:
C: First body line.
C: ..A line that starts with a period.
B: \tA line that starts with a tab.\r\n
C: Last body line of $case.
C: .
S: 250
! hop-wait rcpt-$case@$relay_domain
D: Subject: unchanged $case
D: From: <sender-$case@$relay_domain>
D: To: <rcpt-$case@$relay_domain>
D: X-Mailconform-Note: a header field the relay has no business with
D: First body line.
D: .A line that starts with a period.
D: \tA line that starts with a tab\. (re)
D: Last body line of $case.

== notification-in-report-format SHOULD cite="RFC5321 §3.6.3" also="RFC5321 §6.1, RFC3464 §2"
> Formats specified for non-delivery reports by other standards
> (see, for example, RFC 3461 [32] and RFC 3464 [33]) SHOULD be used if
> possible.
~ the next hop refuses the recipient with 550 after the relay accepted it; the notification
~ that reaches the reverse-path is an RFC 3464 delivery status notification: a
~ multipart/report with a message/delivery-status part that names the failed recipient.
C: MAIL FROM:<sender-$case@$relay_domain>
S: 250
C: RCPT TO:<reject-$case@$relay_domain>
S: 250
C: DATA
S: 354
C: Subject: to be refused $case
C: From: <sender-$case@$relay_domain>
C: To: <reject-$case@$relay_domain>
C:
C: The next hop refuses this recipient.
C: .
S: 250
! hop-wait sender-$case@$relay_domain
D: (?i)content-type:\s*multipart/report\b.* (re)
D: (?i)content-type:\s*message/delivery-status\b.* (re)
D: *reject-$case@$relay_domain*
