# suites/smtp/rfc4954/4-auth-in-transaction.mt
spec: RFC4954 §4 The AUTH Command
requires: AUTH
state: tls

# On the SMTP port, where a transaction can start without AUTH (a submission server
# refuses MAIL first, RFC 6409 §4.3).

== auth-during-transaction-503 MUST
> The AUTH command is not permitted during a mail transaction.
> An AUTH command issued during a mail transaction MUST be
> rejected with a 503 reply.
C: MAIL FROM:<$alice>
S: 250
C: AUTH PLAIN ${b64:\0$alice_login\0$alice_password}
S: 503
