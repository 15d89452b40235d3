# suites/pop3/rfc1939/5-stat.mt
spec: RFC1939 §5 The TRANSACTION State: STAT
state: greeted

== stat-drop-listing-format MUST state=authenticated
> The positive response consists of "+OK" followed by a single
> space, the number of messages in the maildrop, a single space, and
> the size of the maildrop in octets.
~ "all POP3 servers are required to use a certain format for drop listings"; both numbers are
~ base-10 (§4); the memo "makes no requirement on what follows the maildrop size"
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)

== stat-excludes-deleted-messages SPEC
> Note that messages marked as deleted are not counted in
> either total.
~ after DELE of the last message both the count and the size change within the session
! deliver alice 1
@pop pop3 state=authenticated
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)
C: DELE $count
S: +OK
C: STAT
S!: +OK $count *
C: STAT
S!: +OK * $size
