# suites/pop3/rfc2449/5-capa.mt
spec: RFC2449 §5 The CAPA Command
state: tls
# CAPA is compared before and after login on TLS connections: RFC 2595 §4 lets a server
# advertise different capabilities after STLS, so the list before TLS is not the reference.

== capa-in-authorization-state SPEC state=greeted
> It is available in both the AUTHORIZATION and
> TRANSACTION states.
~ CAPA right after the greeting: +OK and a capability list ended by "."
C: CAPA
S: +OK
S| ...

== capa-in-transaction-state SPEC state=authenticated
> It is available in both the AUTHORIZATION and
> TRANSACTION states.
~ CAPA after login: +OK and a capability list ended by "."
C: CAPA
S: +OK
S| ...

== top-announced-in-both-states MUST requires=STLS,TOP also="RFC2449 §6.1"
> Capabilities available in the AUTHORIZATION state MUST be announced
> in both states.
~ TOP is "Announced states / possible differences: both / no" (§6.1); tags are
~ case-insensitive
C: CAPA
S: +OK
S| ...
S| (?i)TOP (re)
S| ...
@after pop3 state=authenticated
C: CAPA
S: +OK
S| ...
S| (?i)TOP (re)
S| ...

== uidl-announced-in-both-states MUST requires=STLS,UIDL also="RFC2449 §6.8"
> Capabilities available in the AUTHORIZATION state MUST be announced
> in both states.
~ UIDL is "Announced states / possible differences: both / no" (§6.8)
C: CAPA
S: +OK
S| ...
S| (?i)UIDL (re)
S| ...
@after pop3 state=authenticated
C: CAPA
S: +OK
S| ...
S| (?i)UIDL (re)
S| ...

== user-announced-in-both-states MUST requires=STLS,USER also="RFC2449 §6.2"
> Capabilities available in the AUTHORIZATION state MUST be announced
> in both states.
~ USER is "Announced states / possible differences: both / no" (§6.2)
C: CAPA
S: +OK
S| ...
S| (?i)USER (re)
S| ...
@after pop3 state=authenticated
C: CAPA
S: +OK
S| ...
S| (?i)USER (re)
S| ...

== resp-codes-announced-in-both-states MUST requires=STLS,RESP-CODES also="RFC2449 §6.4"
> Capabilities available in the AUTHORIZATION state MUST be announced
> in both states.
~ RESP-CODES is "Announced states / possible differences: both / no" (§6.4)
C: CAPA
S: +OK
S| ...
S| (?i)RESP-CODES (re)
S| ...
@after pop3 state=authenticated
C: CAPA
S: +OK
S| ...
S| (?i)RESP-CODES (re)
S| ...

== pipelining-announced-in-both-states MUST requires=STLS,PIPELINING also="RFC2449 §6.6"
> Capabilities available in the AUTHORIZATION state MUST be announced
> in both states.
~ PIPELINING is "Announced states / possible differences: both / no" (§6.6)
C: CAPA
S: +OK
S| ...
S| (?i)PIPELINING (re)
S| ...
@after pop3 state=authenticated
C: CAPA
S: +OK
S| ...
S| (?i)PIPELINING (re)
S| ...
