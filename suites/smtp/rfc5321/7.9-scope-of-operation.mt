# suites/smtp/rfc5321/7.9-scope-of-operation.mt
spec: RFC5321 §7.9 Scope of Operation of SMTP Servers
state: connected

# $foreign is in a domain the target does not serve. RFC 5321 makes relay refusal a
# SHOULD (a site may choose to relay); a refusal is any 4yz or 5yz reply, and §3.6.2 and
# §7.9 recommend 550 for it.

== relay-refused-without-authentication SHOULD also="RFC5321 §3.6.2"
> Some sites have decided to limit the use of the relay
> function to known or identifiable sources, and implementations SHOULD
> provide the capability to perform this type of filtering.
~ an unauthenticated client on the public port cannot make the server relay to $foreign
S: 220
C: HELO $client
S: 250
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$foreign>
S: 4xx|5xx

== relay-refusal-code-550 SHOULD cite="RFC5321 §3.6.2" also="RFC5321 §7.9, RFC5321 §4.3.2"
> If it declines to
> relay mail to a particular address for policy reasons, a 550 response
> SHOULD be returned.
S: 220
C: HELO $client
S: 250
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$foreign>
S: 550

== source-routed-relay-refused SHOULD also="RFC5321 §3.6.1"
> SMTP
> servers MAY decline to act as mail relays or to accept addresses that
> specify source routes.
~ a route through a served domain to $foreign is still relaying to $foreign: refused, or
~ (route ignored, §4.1.1.3) refused for the final address
S: 220
C: HELO $client
S: 250
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<@$hostname:$foreign>
S: 4xx|5xx
