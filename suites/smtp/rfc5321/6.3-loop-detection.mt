# suites/smtp/rfc5321/6.3-loop-detection.mt
spec: RFC5321 §6.3 Loop Detection
protocol: submission
state: authenticated

# Relay cases (see 3.6-relaying.mt). A message that arrives with many Received: fields has
# been through that many hops: a loop, for any real mail path. The RFC fixes no number;
# it wants a threshold of "normally at least 100", so 150 fields are past any sensible one
# and 98 below it.

== looping-message-stopped MUST
> Whatever mechanisms are used, servers MUST
> contain provisions for detecting and stopping trivial loops.
~ a message with 150 Received: fields is refused at the end of the data, or accepted and
~ not relayed again: nothing for its recipient reaches the next hop within 2 s.
C: MAIL FROM:<sender-$case@$relay_domain>
S: 250
C: RCPT TO:<rcpt-$case@$relay_domain>
S: 250
C: DATA
S: 354
B: ${repeat:150:Received: from loop.example.invalid by relay.example.invalid; Thu, 1 Jan 2026 00:00:00 +0000\r\n}
C: Subject: looping $case
C:
C: This message has been going round in circles.
C: .
S: 250|5xx
! hop-none rcpt-$case@$relay_domain 2

== threshold-of-at-least-100 SHOULD
> SMTP servers using this
> technique SHOULD use a large rejection threshold, normally at least
> 100 Received entries.
~ a message with 98 Received: fields is not taken for a loop: it is relayed.
C: MAIL FROM:<sender-$case@$relay_domain>
S: 250
C: RCPT TO:<rcpt-$case@$relay_domain>
S: 250
C: DATA
S: 354
B: ${repeat:98:Received: from far.example.invalid by away.example.invalid; Thu, 1 Jan 2026 00:00:00 +0000\r\n}
C: Subject: long path $case
C:
C: This message has come a long way.
C: .
S: 250
! hop-wait rcpt-$case@$relay_domain
D: Subject: long path $case
