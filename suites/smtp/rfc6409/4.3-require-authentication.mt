# suites/smtp/rfc6409/4.3-require-authentication.mt
spec: RFC6409 §4.3 Require Authentication
protocol: submission
state: tls

# Relaying for authenticated users (delivery to $foreign) is not checked here.
#
# §4.3 makes refusing unauthenticated submissions a MUST, but §3.2 lets an MSA comply with
# any rejection this RFC asks for "by accepting the message and subsequently generating a
# bounce message". A 530 to MAIL is therefore the form the RFC describes, not the only
# conforming behaviour: these cases are SPEC. (Whether an accepted unauthenticated message
# is bounced rather than delivered needs the mailboxes: pending retrieval.)

== mail-without-auth-530 SPEC
> The MSA MUST, by default, issue an error response to the MAIL command
> if the session has not been authenticated using [SMTP-AUTH], unless
> it has already independently established authentication or
> authorization (such as being within a protected subnetwork).
> Section 3.3 discusses authentication mechanisms.
> Reply code 530 [SMTP-AUTH] is used for this purpose.
~ after STARTTLS but before AUTH, MAIL is refused with 530 (SPEC: §3.2 also allows accepting
~ the message and bouncing it).
C: MAIL FROM:<$alice>
S: 530

== mail-without-auth-or-tls-530 SPEC state=greeted
> The MSA MUST, by default, issue an error response to the MAIL command
> if the session has not been authenticated using [SMTP-AUTH], unless
> it has already independently established authentication or
> authorization (such as being within a protected subnetwork).
~ on a fresh plaintext session MAIL is refused with 530 (authentication, or STARTTLS first;
~ SPEC: §3.2 also allows accepting the message and bouncing it).
C: MAIL FROM:<$alice>
S: 530

== mail-after-auth-accepted SPEC state=authenticated
> Authenticated SMTP [SMTP-AUTH] has seen widespread deployment.  It
> allows the MSA to determine an authorization identity for the message
> submission, one that is not tied to other protocols.
~ once authenticated, a submission to a local mailbox goes through.
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
C: Subject: submitted $run
C:
C: Submitted after AUTH.
C: .
S: 250

== null-reverse-path-accepted MUST cite="RFC6409 §3.2" state=authenticated
> Note that a null return path, that is, MAIL FROM:<>, is permitted and
> MUST NOT, in itself, be cause for rejecting a message.
C: MAIL FROM:<>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
C: Subject: null return path $run
C:
C: A notification with MAIL FROM:<>.
C: .
S: 250
