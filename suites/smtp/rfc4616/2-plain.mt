# suites/smtp/rfc4616/2-plain.mt
spec: RFC4616 §2 PLAIN SASL Mechanism
protocol: submission
requires: AUTH=PLAIN
state: tls
also: RFC4954 §4

== authzid-of-own-identity-accepted SPEC
> Upon receipt of the message, the server will verify the presented (in
> the message) authentication identity (authcid) and password (passwd)
> with the system authentication database, and it will verify that the
> authentication credentials permit the client to act as the (presented
> or derived) authorization identity (authzid).
~ a user may always act as themselves: authzid equal to the login succeeds.
C: AUTH PLAIN ${b64:$alice_login\0$alice_login\0$alice_password}
S: 235

== authzid-of-another-user-refused SPEC
> If both steps succeed, the user is authenticated.
~ alice's correct password does not let her act as bob: the authorization step fails, so the
~ AUTH command fails although the password is right.
C: AUTH PLAIN ${b64:$bob_login\0$alice_login\0$alice_password}
S: 5xx

== empty-password-fails MUST
> Regardless of the preparation algorithm used, if preparation fails or
> results in an empty string, verification SHALL fail.
~ an empty password never authenticates (refused as malformed, 501, or as failed, 535).
C: AUTH PLAIN ${b64:\0$alice_login\0}
S: 5xx

== fields-of-255-octets-accepted MUST
> Servers MUST be capable of accepting authzid, authcid, and passwd
> productions up to and including 255 octets.
~ a 255-octet authcid and a 255-octet password (no such user) are read and checked like any
~ other credentials: the answer is the failed-authentication 535, not a refusal of the message
~ as malformed (501) or too long (500). The token exceeds a 512-octet command line, so it is sent
~ after the empty challenge (RFC 4954 §4).
C: AUTH PLAIN
S: 334
C: ${b64:\0aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\0bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb}
S: 535
