# suites/pop3/rfc1939/5-rset.mt
spec: RFC1939 §5 The TRANSACTION State: RSET
state: greeted

== rset-unmarks-deleted SPEC also="RFC1939 §6"
> If any messages have been marked as deleted by the POP3
> server, they are unmarked.  The POP3 server then replies
> with a positive response.
~ after DELE and RSET the message is listed, counted and retrievable again (which needs the
~ removal itself to wait for the UPDATE state, §6)
! deliver alice 1
@pop pop3 state=authenticated
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)
C: LIST $count
S: +OK (?P<count>\d+) (?P<octets>\d+)(?: .*)? (re)
C: DELE $count
S: +OK
C: RSET
S: +OK
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)
C: LIST $count
S: +OK (?P<count>\d+) (?P<octets>\d+)(?: .*)? (re)
C: RETR $count
S: +OK
S| ...

== rset-then-quit-removes-nothing SPEC also="RFC1939 §6"
> If any messages have been marked as deleted by the POP3
> server, they are unmarked.
~ a deletion undone by RSET is not carried out at QUIT: the next session still lists the message
! deliver alice 1
@pop pop3 state=authenticated
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)
C: LIST $count
S: +OK (?P<count>\d+) (?P<octets>\d+)(?: .*)? (re)
C: DELE $count
S: +OK
C: RSET
S: +OK
C: QUIT
S: +OK
S: <EOF>
! reconnect
C: LIST $count
S: +OK (?P<count>\d+) (?P<octets>\d+)(?: .*)? (re)

== rset-without-deletions-positive SPEC state=authenticated
> The POP3 server then replies
> with a positive response.
~ RSET with nothing marked is answered +OK and changes nothing
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)
C: RSET
S: +OK
C: STAT
S: +OK $count $size
