# suites/smtp/rfc5321/3.5-vrfy-expn.mt
spec: RFC5321 §3.5 Commands for Debugging Addresses
state: connected

# The user names are the accounts' logins; on the targets the project ships they are also
# the local parts of the accounts' addresses.

== vrfy-local-user-name-recognized MUST cite="RFC5321 §3.5.1" also="RFC5321 §4.5.1"
> An
> implementation of the VRFY or EXPN commands MUST include at least
> recognition of local mailboxes as "user names".
~ VRFY of a local user name is verified (250, 251), answered "cannot verify" (252), or
~ found ambiguous (553); never refused as unknown, unrecognized or unimplemented
S: 220
C: HELO $client
S: 250
C: VRFY $bob_login
S: 250|251|252|553

== vrfy-mailbox-form-accepted SHOULD cite="RFC5321 §3.5.1" also="RFC5321 §4.5.1"
> hosts, especially hosts that provide this
> functionality, SHOULD accept the "local-part@domain" form as a "user
> name"
S: 220
C: HELO $client
S: 250
C: VRFY $bob
S: 250|251|252|553

== vrfy-unknown-not-250 MUST cite="RFC5321 §3.5.3"
> A server MUST NOT return a 250 code in response to a VRFY or EXPN
> command unless it has actually verified the address.
~ a local address with no mailbox cannot have been verified
S: 220
C: HELO $client
S: 250
C: VRFY $unknown
S!: 250

== expn-unknown-not-250 MUST cite="RFC5321 §3.5.3"
> In particular,
> a server MUST NOT return 250 if all it has done is to verify that the
> syntax given is valid.
S: 220
C: HELO $client
S: 250
C: EXPN $unknown
S!: 250

== vrfy-leaves-transaction-alone SPEC cite="RFC5321 §4.1.1.6"
> This command has no effect on the reverse-path buffer, the forward-
> path buffer, or the mail data buffer.
~ whatever VRFY answers, the open transaction goes on to DATA
S: 220
C: HELO $client
S: 250
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: VRFY $bob_login
S: 2xx|5xx
C: DATA
S: 354
C: Subject: VRFY inside a transaction $run
C:
C: VRFY was sent between RCPT and DATA.
C: .
S: 250

== expn-leaves-transaction-alone SPEC cite="RFC5321 §4.1.1.7" also="RFC5321 §4.2.1"
> This command has no effect on the reverse-path buffer, the forward-
> path buffer, or the mail data buffer, and it may be issued at any
> time.
~ whatever EXPN answers (an expansion may be a multi-line reply), the transaction goes on
S: 220
C: HELO $client
S: 250
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: EXPN $bob_login
S: 2xx|5xx
C: DATA
S: 354
C: Subject: EXPN inside a transaction $run
C:
C: EXPN was sent between RCPT and DATA.
C: .
S: 250
