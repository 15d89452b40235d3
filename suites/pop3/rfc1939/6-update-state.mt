# suites/pop3/rfc1939/6-update-state.mt
spec: RFC1939 §6 The UPDATE State
state: greeted

== no-quit-no-removal MUST also="RFC1939 §5"
> If a session terminates for some reason other than a client-issued
> QUIT command, the POP3 session does NOT enter the UPDATE state and
> MUST not remove any messages from the maildrop.
~ a message marked by DELE is still there, same size, after the client drops the connection
~ without QUIT (which also needs DELE itself only to mark it, §5)
! deliver alice 1
@pop pop3 state=authenticated
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)
C: LIST $count
S: +OK (?P<count>\d+) (?P<octets>\d+)(?: .*)? (re)
C: DELE $count
S: +OK
! reconnect
C: LIST $count
S: +OK (?P<count>\d+) (?P<octets>\d+)(?: .*)? (re)
C: RETR $count
S: +OK
S| ...

== quit-removes-deleted SPEC also="RFC1939 §5"
> The POP3 server removes all messages marked as deleted
> from the maildrop and replies as to the status of this
> operation.
~ the last message, marked by DELE, is gone in the next session: LIST of its number fails
~ and the drop listing no longer has the old count
! deliver alice 1
@pop pop3 state=authenticated
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)
C: DELE $count
S: +OK
C: QUIT
S: +OK
S: <EOF>
! reconnect
C: LIST $count
S: -ERR
C: STAT
S!: +OK $count *

== quit-keeps-unmarked-messages MUST also="RFC1939 §5"
> In no case may the server
> remove any messages not marked as deleted.
~ of the last two messages only the last is marked; after QUIT the one before it is still
~ there with the same number and size
! deliver alice 2
@pop pop3 state=authenticated
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)
C: LIST
S: +OK
S| ...
S| (?P<previous>\d+) (?P<before>\d+)(?: .*)? (re)
S| (?P<count>\d+) (?P<octets>\d+)(?: .*)? (re)
C: DELE $count
S: +OK
C: QUIT
S: +OK
S: <EOF>
! reconnect
C: LIST $previous
S: +OK (?P<previous>\d+) (?P<before>\d+)(?: .*)? (re)
C: RETR $previous
S: +OK
S| ...

== quit-closes-connection SPEC state=authenticated also="RFC1939 §4"
> Whether the removal was successful or not, the server
> then releases any exclusive-access lock on the maildrop
> and closes the TCP connection.
~ after +OK the server closes; the released maildrop can be opened by the next session at once
C: QUIT
S: +OK
S: <EOF>
! reconnect
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)
