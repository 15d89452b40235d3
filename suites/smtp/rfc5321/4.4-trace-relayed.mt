# suites/smtp/rfc5321/4.4-trace-relayed.mt
spec: RFC5321 §4.4 Trace Information
protocol: submission
state: authenticated

# Trace fields of a relayed message, as the harness's capture next hop receives it (see
# 3.6-relaying.mt for how relay cases work). Field names are case-insensitive (RFC 5322
# §1.2.2), hence `(?i)` in the patterns; only the first line of a folded field is matched.

== received-added-when-relaying MUST
> When an SMTP server receives a message for delivery or further
> processing, it MUST insert trace ("time stamp" or "Received")
> information at the beginning of the message content
~ the copy that reaches the next hop has a Received: field before the message's own first
~ header line (its Subject).
C: MAIL FROM:<sender-$case@$relay_domain>
S: 250
C: RCPT TO:<rcpt-$case@$relay_domain>
S: 250
C: DATA
S: 354
C: Subject: trace $case
C: From: <sender-$case@$relay_domain>
C: To: <rcpt-$case@$relay_domain>
C:
C: The relayed copy starts with trace fields.
C: .
S: 250
! hop-wait rcpt-$case@$relay_domain
D: (?i)received:.* (re)
D: Subject: trace $case

== received-prepended-existing-kept MUST
> SMTP servers MUST prepend Received lines to messages; they MUST NOT
> change the order of existing lines or insert Received lines in any
> other location.
~ a message that arrives with two Received: fields leaves with a new one on top and the two
~ after it, unchanged and in their order.
C: MAIL FROM:<sender-$case@$relay_domain>
S: 250
C: RCPT TO:<rcpt-$case@$relay_domain>
S: 250
C: DATA
S: 354
C: Received: from one.example.invalid by two.example.invalid; Thu, 1 Jan 2026 00:00:02 +0000
C: Received: from zero.example.invalid by one.example.invalid; Thu, 1 Jan 2026 00:00:01 +0000
C: Subject: earlier hops $case
C: From: <sender-$case@$relay_domain>
C: To: <rcpt-$case@$relay_domain>
C:
C: Two hops before this one.
C: .
S: 250
! hop-wait rcpt-$case@$relay_domain
D: (?i)received:.* (re)
D: Received: from one.example.invalid by two.example.invalid; Thu, 1 Jan 2026 00:00:02 +0000
D: Received: from zero.example.invalid by one.example.invalid; Thu, 1 Jan 2026 00:00:01 +0000
D: Subject: earlier hops $case

== relay-adds-no-return-path SPEC
> When the delivery SMTP server makes the "final delivery" of a
> message, it inserts a return-path line at the beginning of the mail
> data.
~ the Return-Path: field belongs to final delivery; a relay that hands the message to another
~ SMTP server has not made final delivery and adds none.
C: MAIL FROM:<sender-$case@$relay_domain>
S: 250
C: RCPT TO:<rcpt-$case@$relay_domain>
S: 250
C: DATA
S: 354
C: Subject: no return path $case
C: From: <sender-$case@$relay_domain>
C: To: <rcpt-$case@$relay_domain>
C:
C: Not delivered yet.
C: .
S: 250
! hop-wait rcpt-$case@$relay_domain
D!: (?i)return-path:.* (re)
