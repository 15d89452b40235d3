# suites/pop3/rfc1939/5-dele.mt
spec: RFC1939 §5 The TRANSACTION State: DELE
state: greeted

== deleted-message-references-err SPEC
> The POP3 server marks the message as deleted.  Any future
> reference to the message-number associated with the message in a
> POP3 command generates an error.
~ after DELE n: RETR n, LIST n, TOP n 0, UIDL n and a second DELE n are all refused (TOP and
~ UIDL are refused by a server without them too); the rest of the maildrop stays usable
! deliver alice 1
@pop pop3 state=authenticated
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)
C: DELE $count
S: +OK
C: RETR $count
S: -ERR
C: LIST $count
S: -ERR
C: TOP $count 0
S: -ERR
C: UIDL $count
S: -ERR
C: DELE $count
S: -ERR
C: NOOP
S: +OK

== dele-no-such-message-err SPEC state=authenticated
~ "Possible Responses: ... -ERR no such message": message 0 and a number above the message
~ count (ten times the count) cannot be deleted, and nothing else is
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)
C: DELE ${count}0
S: -ERR
C: DELE 0
S: -ERR
C: STAT
S: +OK $count $size
