# suites/smtp/rfc5321/6.1-reliable-delivery.mt
spec: RFC5321 §6.1 Reliable Delivery and Replies by Email
protocol: submission
state: authenticated

# Relay cases (see 3.6-relaying.mt): the harness's capture next hop accepts every recipient
# but `reject-...` ones, which it refuses with 550 after the server under test has accepted
# them: a delivery failure after acceptance. The reverse-path is at the hop too, so the
# notification the RFC asks for arrives there.

== every-accepted-recipient-relayed MUST
> When the receiver-SMTP accepts a piece of mail (by sending a "250 OK"
> message in response to DATA), it is accepting responsibility for
> delivering or relaying the message.  It must take this responsibility
> seriously.  It MUST NOT lose the message for frivolous reasons, such
> as because the host later crashes or because of a predictable
> resource shortage.
~ a message accepted for three recipients at the same next hop reaches the hop for each.
C: MAIL FROM:<sender-$case@$relay_domain>
S: 250
C: RCPT TO:<first-$case@$relay_domain>
S: 250
C: RCPT TO:<second-$case@$relay_domain>
S: 250
C: RCPT TO:<third-$case@$relay_domain>
S: 250
C: DATA
S: 354
C: Subject: three recipients $case
C: From: <sender-$case@$relay_domain>
C: To: <first-$case@$relay_domain>, <second-$case@$relay_domain>, <third-$case@$relay_domain>
C:
C: One copy for each.
C: .
S: 250
! hop-wait first-$case@$relay_domain
! hop-wait second-$case@$relay_domain
! hop-wait third-$case@$relay_domain

== failure-notified-to-reverse-path MUST
> If there is a delivery failure after acceptance of a message, the
> receiver-SMTP MUST formulate and mail a notification message.
~ the next hop refuses the only recipient with 550; a notification reaches the reverse-path
~ ("The recipient of this notification MUST be the address from the envelope return path").
C: MAIL FROM:<sender-$case@$relay_domain>
S: 250
C: RCPT TO:<reject-$case@$relay_domain>
S: 250
C: DATA
S: 354
C: Subject: refused later $case
C: From: <sender-$case@$relay_domain>
C: To: <reject-$case@$relay_domain>
C:
C: The next hop refuses this recipient.
C: .
S: 250
! hop-wait sender-$case@$relay_domain
H: RCPT TO:<sender-$case@$relay_domain>*

== notification-sent-with-null-reverse-path MUST also="RFC5321 §4.5.5"
> This notification MUST be sent using a null ("<>") reverse-path in the
> envelope.
~ the notification about the refused recipient leaves with MAIL FROM:<> (§4.5.5 lists
~ non-delivery notifications among the messages sent with the null reverse-path).
C: MAIL FROM:<sender-$case@$relay_domain>
S: 250
C: RCPT TO:<reject-$case@$relay_domain>
S: 250
C: DATA
S: 354
C: Subject: notified with null sender $case
C: From: <sender-$case@$relay_domain>
C: To: <reject-$case@$relay_domain>
C:
C: The next hop refuses this recipient.
C: .
S: 250
! hop-wait sender-$case@$relay_domain
H: MAIL FROM:<>*
H: RCPT TO:<sender-$case@$relay_domain>*

== no-notification-for-null-reverse-path MUST also="RFC6409 §3.2"
> if this address is null ("<>"), the receiver-SMTP MUST NOT send a
> notification.
~ a message with the null reverse-path goes to two recipients at the next hop, which takes
~ the first and refuses the second. A notification has nowhere to go; in particular none
~ lands in a local mailbox (the postmaster's, say): alice's and bob's message counts stay
~ the same. The message is submitted with MAIL FROM:<>, which RFC 6409 §3.2 says an MSA MUST
~ NOT refuse for that alone. On a target shared with other runs, another delivery to these
~ mailboxes in that second would fail the case.
@alice_before pop3 state=authenticated as=alice
C: STAT
S: +OK $alice_count *
C: QUIT
S: +OK
@bob_before pop3 state=authenticated as=bob
C: STAT
S: +OK $bob_count *
C: QUIT
S: +OK
@main
C: MAIL FROM:<>
S: 250
C: RCPT TO:<rcpt-$case@$relay_domain>
S: 250
C: RCPT TO:<reject-$case@$relay_domain>
S: 250
C: DATA
S: 354
C: Subject: null reverse-path, refused later $case
C: To: <rcpt-$case@$relay_domain>, <reject-$case@$relay_domain>
C:
C: Nobody is told when the second recipient fails.
C: .
S: 250
! hop-wait rcpt-$case@$relay_domain
! sleep 1
@alice_after pop3 state=authenticated as=alice
C: STAT
S: +OK $alice_count *
C: QUIT
S: +OK
@bob_after pop3 state=authenticated as=bob
C: STAT
S: +OK $bob_count *
C: QUIT
S: +OK
