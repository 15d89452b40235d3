# suites/smtp/rfc5321/4.5.4.1-sending-strategy.mt
spec: RFC5321 §4.5.4.1 Sending Strategy
protocol: submission
state: authenticated

# The harness's capture next hop (see 3.6-relaying.mt) answers the first RCPT for a
# `tempfail-...` address with 451 and every later one with 250: the message arrives only if
# the relay keeps it and tries again. The reference server retries after half a second;
# another target needs a retry interval shorter than the step timeout, which is how long
# the hop-wait below waits (10 s unless the target file or --step-timeout says otherwise).

== temporary-failure-queued-and-retried MUST
> mail that cannot be transmitted immediately MUST be queued and
> periodically retried by the sender.
~ the first attempt gets 451 for the only recipient; a later attempt delivers the message.
C: MAIL FROM:<sender-$case@$relay_domain>
S: 250
C: RCPT TO:<tempfail-$case@$relay_domain>
S: 250
C: DATA
S: 354
C: Subject: retried $case
C: From: <sender-$case@$relay_domain>
C: To: <tempfail-$case@$relay_domain>
C:
C: The first attempt gets a 451.
C: .
S: 250
! hop-wait tempfail-$case@$relay_domain
H: RCPT TO:<tempfail-$case@$relay_domain>*
D: Subject: retried $case
