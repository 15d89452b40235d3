# suites/smtp/rfc5321/4.3.2-command-reply-sequences.mt
spec: RFC5321 §4.3.2 Command-Reply Sequences
state: connected

== required-commands-recognized MUST also="RFC5321 §4.5.1"
> Note that producing a "command not recognized"
> error in response to the required subset of these commands is a
> violation of this specification.
~ none of the commands §4.5.1 makes mandatory (EHLO, HELO, MAIL, RCPT, DATA, RSET, NOOP,
~ QUIT, VRFY) is answered 500 or 502; DATA goes outside a transaction (so it can only be
~ refused), EHLO comes last (its reply is multi-line), QUIT has cases of its own
S: 220
C: HELO $client
S!: 500|502
C: VRFY $bob_login
S!: 500|502
C: DATA
S!: 500|502
C: MAIL FROM:<$alice>
S!: 500|502
C: RCPT TO:<$bob>
S!: 500|502
C: RSET
S!: 500|502
C: NOOP
S!: 500|502
C: EHLO $client
S!: 500|502

== rcpt-unknown-user-codes SHOULD also="RFC5321 §3.3"
> The table below lists alternative success and failure replies for
> each command.  These SHOULD be strictly adhered to.
~ RCPT fails with one of E: 550, 551, 552, 553, 450, 451, 452, 503, 455, 555
S: 220
C: HELO $client
S: 250
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$unknown>
S: 550|551|552|553|450|451|452|455|555

== vrfy-unknown-user-codes SHOULD also="RFC5321 §3.5.3"
> The table below lists alternative success and failure replies for
> each command.  These SHOULD be strictly adhered to.
~ VRFY answers with one of S: 250, 251, 252 or E: 550, 551, 553, 502, 504
S: 220
C: HELO $client
S: 250
C: VRFY $unknown
S: 250|251|252|550|551|553|502|504

== expn-codes SHOULD
> The table below lists alternative success and failure replies for
> each command.  These SHOULD be strictly adhered to.
~ EXPN answers with one of S: 250, 252 or E: 550, 500, 502, 504
S: 220
C: HELO $client
S: 250
C: EXPN $bob_login
S: 250|252|550|500|502|504
