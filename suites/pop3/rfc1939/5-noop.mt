# suites/pop3/rfc1939/5-noop.mt
spec: RFC1939 §5 The TRANSACTION State: NOOP
state: authenticated

== noop-positive SPEC
> The POP3 server does nothing, it merely replies with a
> positive response.
~ and the maildrop listing is the same before and after
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)
C: NOOP
S: +OK
C: NOOP
S: +OK
C: STAT
S: +OK $count $size
