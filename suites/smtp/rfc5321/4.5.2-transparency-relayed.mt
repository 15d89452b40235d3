# suites/smtp/rfc5321/4.5.2-transparency-relayed.mt
spec: RFC5321 §4.5.2 Transparency
protocol: submission
state: authenticated

# The client side of transparency, seen at the harness's capture next hop (see
# 3.6-relaying.mt): the server under test relays a message with lines that start with a
# period. The hop removes one leading period from each line, as §4.5.2 tells a server to,
# so D: lines show the content the relay meant to send only if its client stuffed them.

== leading-period-lines-stuffed MUST
> Before sending a line of mail text, the SMTP client checks the
> first character of the line.  If it is a period, one additional
> period is inserted at the beginning of the line.
~ MUST (grammar): the procedure leaves no choice. The submitted lines ".leading period",
~ "." and ".." reach the next hop as the same text; an unstuffed lone "." would even end the
~ data early.
C: MAIL FROM:<sender-$case@$relay_domain>
S: 250
C: RCPT TO:<rcpt-$case@$relay_domain>
S: 250
C: DATA
S: 354
C: Subject: relayed transparency $case
C:
C: ..leading period $case
C: ..
C: ...
C: after the dots $case
C: .
S: 250
! hop-wait rcpt-$case@$relay_domain
D: .leading period $case
D: .
D: ..
D: after the dots $case
