# suites/pop3/rfc5034/3-sasl-capability.mt
spec: RFC5034 §3 The SASL Capability
also: RFC2449 §5
requires: STLS
state: tls

== sasl-offers-plain-over-tls MUST cite="RFC5034 §4" requires=SASL
> To ensure interoperability, client and server implementations
> of this extension MUST implement the PLAIN SASL mechanism
> [RFC4616] running over TLS [RFC2595].
~ inside TLS, before login, CAPA has a SASL line (a space-separated list of mechanisms, §3)
~ naming PLAIN; tags and mechanism names are case-insensitive
C: CAPA
S: +OK
S| ...
S| (?i)SASL( \S+)* PLAIN( \S+)* (re)
S| ...

== sasl-announced-after-auth MUST requires=SASL=PLAIN
> However, as required by
> [RFC2449], implementations MUST continue to include the SASL
> capability even after a successful AUTH command has been completed
> (even though no further AUTH commands may be issued).
~ after AUTH PLAIN succeeded, CAPA still has the SASL line
C: AUTH PLAIN ${b64:\0$alice_login\0$alice_password}
S: +OK
C: CAPA
S: +OK
S| ...
S| (?i)SASL( .*)? (re)
S| ...
