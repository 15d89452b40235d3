# suites/smtp/rfc5321/4.5.1-minimum-implementation.mt
spec: RFC5321 §4.5.1 Minimum Implementation
state: connected

== postmaster-without-domain MUST also="RFC5321 §2.3.5, RFC5321 §4.1.1.3"
> The requirement to accept mail for
> postmaster implies that RCPT commands that specify a mailbox for
> postmaster at any of the domains for which the SMTP server provides
> mail service, as well as the special case of "RCPT TO:<Postmaster>"
> (with no domain specification), MUST be supported.
~ "<Postmaster>" is case-insensitive (§4.1.1.3), so "<postmaster>" is the same recipient
S: 220
C: HELO $client
S: 250
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<Postmaster>
S: 250
C: RCPT TO:<postmaster>
S: 250

== postmaster-at-local-domain MUST
> Any system that includes an SMTP server supporting mail relaying or
> delivery MUST support the reserved mailbox "postmaster" as a case-
> insensitive local name.
~ postmaster@<a served domain>, in any case, is accepted and the message with it
S: 220
C: HELO $client
S: 250
C: MAIL FROM:<>
S: 250
C: RCPT TO:<postmaster@$domain>
S: 250
C: RCPT TO:<POSTMASTER@$domain>
S: 250
C: DATA
S: 354
C: Subject: for the postmaster $run
C:
C: Sent with a null reverse-path, as a delivery notification would be.
C: .
S: 250
