# suites/smtp/rfc5321/4.1.1.8-help.mt
spec: RFC5321 §4.1.1.8 HELP (HELP)
state: connected

== help-without-argument SHOULD also="RFC5321 §4.3.2"
> SMTP servers SHOULD support HELP without arguments and MAY support it
> with arguments.
~ §4.3.2: HELP succeeds with 211 or 214
S: 220
C: HELO $client
S: 250
C: HELP
S: 211|214

== help-leaves-transaction-alone SPEC also="RFC5321 §4.2.1"
> This command has no effect on the reverse-path buffer, the forward-
> path buffer, or the mail data buffer, and it may be issued at any
> time.
~ whatever HELP answers (often a multi-line reply), the open transaction goes on to DATA
S: 220
C: HELO $client
S: 250
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: HELP
S: 2xx|5xx
C: DATA
S: 354
C: Subject: HELP inside a transaction $run
C:
C: HELP was sent between RCPT and DATA.
C: .
S: 250
