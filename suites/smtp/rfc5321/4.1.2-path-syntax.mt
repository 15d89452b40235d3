# suites/smtp/rfc5321/4.1.2-path-syntax.mt
spec: RFC5321 §4.1.2 Command Argument Syntax
state: connected

# "Recognize" a form = do not answer it as a syntax error (500/501). A server may still
# refuse the path for policy (550, §3.6.1: it MAY decline to relay as a route implies).

== rcpt-source-route-recognized MUST also="RFC5321 §4.1.1.3, RFC5321 §3.3"
> Receiving systems MUST recognize
> source route syntax but SHOULD strip off the source route
> specification and utilize the domain name associated with the mailbox
> as if the source route had not been provided.
S: 220
C: HELO $client
S: 250
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<@relay-one.example,@relay-two.example:$bob>
S!: 500|501

== mail-source-route-recognized MUST
> A-d-l          = At-domain *( "," At-domain )
> ; Note that this form, the so-called "source
> ; route", MUST BE accepted, SHOULD NOT be
> ; generated, and SHOULD be ignored.
~ Path, and with it the reverse-path of MAIL, may carry an A-d-l
S: 220
C: HELO $client
S: 250
C: MAIL FROM:<@relay-one.example:$alice>
S!: 500|501

== rcpt-source-route-ignored SHOULD cite="RFC5321 §4.1.1.3" also="RFC5321 §4.1.2, RFC5321 §3.6.1"
> Receiving systems MUST recognize
> source route syntax but SHOULD strip off the source route
> specification and utilize the domain name associated with the mailbox
> as if the source route had not been provided.
~ the route is dropped and the mail is delivered to the local mailbox at its end
S: 220
C: HELO $client
S: 250
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<@relay-one.example,@relay-two.example:$bob>
S: 250
C: DATA
S: 354
C: Subject: source-routed recipient $run
C:
C: The forward-path carried a source route.
C: .
S: 250

== quoted-local-part-equivalent MUST also="RFC5321 §4.5.1"
> For any purposes that require generating or comparing
> Local-parts (e.g., to specific mailbox names), all quoted forms MUST
> be treated as equivalent
~ "postmaster", "po\stmaster" (a quoted-pair) and postmaster name the same mailbox, which
~ every domain served MUST accept (§4.5.1)
S: 220
C: HELO $client
S: 250
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<"postmaster"@$domain>
S: 250
C: RCPT TO:<"po\stmaster"@$domain>
S: 250

== domain-with-underscore-501 MUST
> characters outside the set of alphabetic characters, digits, and
> hyphen MUST NOT appear in domain name labels for SMTP clients or
> servers.  In particular, the underscore character is not permitted.
> SMTP servers that receive a command in which invalid character codes
> have been employed, and for which there are no other reasons for
> rejection, MUST reject that command with a 501 response
~ a reverse-path whose domain has an underscore has no other reason for rejection
S: 220
C: HELO $client
S: 250
C: MAIL FROM:<mailconform@bad_label.example>
S: 501

== null-reverse-path-accepted SPEC also="RFC5321 §3.6.3, RFC5321 §4.5.5"
> Reverse-path   = Path / "<>"
~ the null reverse-path of delivery notifications (§3.6.3: "MAIL FROM:<>") starts a
~ transaction that delivers like any other
S: 220
C: HELO $client
S: 250
C: MAIL FROM:<>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
C: Subject: null reverse-path $run
C:
C: Sent the way a delivery status notification is sent.
C: .
S: 250
