# suites/pop3/rfc1939/7-uidl.mt
spec: RFC1939 §7 Optional POP3 Commands: UIDL
state: greeted
requires: UIDL

== uidl-listing-format MUST
> A unique-id
> listing consists of the message-number of the message,
> followed by a single space and the unique-id of the message.
> No information follows the unique-id in the unique-id listing.
~ "all POP3 servers are required to use a certain format for unique-id listings"; the id is
~ "one to 70 characters in the range 0x21 to 0x7E"; UIDL msg and the line of UIDL agree
! deliver alice 1
@pop pop3 state=authenticated
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)
C: UIDL $count
S: +OK (?P<count>\d+) (?P<uid>[\x21-\x7e]{1,70}) (re)
C: UIDL
S: +OK
S| ...
S| $count $uid

== uidl-persists-across-sessions MUST
> which uniquely identifies a message within a
> maildrop and which persists across sessions.
~ the unique-id of a message is the same in the next session after QUIT
! deliver alice 1
@pop pop3 state=authenticated
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)
C: UIDL $count
S: +OK (?P<count>\d+) (?P<uid>[\x21-\x7e]{1,70}) (re)
C: QUIT
S: +OK
S: <EOF>
! reconnect
C: UIDL $count
S: +OK $count $uid

== uidl-persists-without-update MUST
> This
> persistence is required even if a session ends without
> entering the UPDATE state.
~ the unique-id is the same after the client drops the connection without QUIT
! deliver alice 1
@pop pop3 state=authenticated
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)
C: UIDL $count
S: +OK (?P<count>\d+) (?P<uid>[\x21-\x7e]{1,70}) (re)
! reconnect
C: UIDL $count
S: +OK $count $uid

== uidl-follows-message-not-number MUST also="RFC1939 §6"
> which uniquely identifies a message within a
> maildrop and which persists across sessions.
~ when the message before the last one is removed, the last message moves up one number and
~ keeps its unique-id
! deliver alice 2
@pop pop3 state=authenticated
C: UIDL
S: +OK
S| ...
S| (?P<previous>\d+) (?P<uidprevious>[\x21-\x7e]{1,70}) (re)
S| (?P<count>\d+) (?P<uid>[\x21-\x7e]{1,70}) (re)
C: DELE $previous
S: +OK
C: QUIT
S: +OK
S: <EOF>
! reconnect
C: UIDL $previous
S: +OK $previous $uid

== uidl-unique-within-maildrop SPEC
> The unique-id of a message is an arbitrary server-determined
> string, consisting of one to 70 characters in the range 0x21
> to 0x7E, which uniquely identifies a message within a
> maildrop
~ two different messages (fixtures with different subjects) have different unique-ids
! deliver alice 2
@pop pop3 state=authenticated
C: UIDL
S: +OK
S| ...
S| (?P<previous>\d+) (?P<uidprevious>[\x21-\x7e]{1,70}) (re)
S| (?P<count>\d+) (?P<uid>[\x21-\x7e]{1,70}) (re)
C: UIDL $count
S!: +OK $count $uidprevious

== uidl-excludes-deleted-messages SPEC also="RFC1939 §5"
> Note that messages marked as deleted are not listed.
~ after DELE of the last message, UIDL msg refuses it and UIDL ends with the message before it
! deliver alice 2
@pop pop3 state=authenticated
C: UIDL
S: +OK
S| ...
S| (?P<previous>\d+) (?P<uidprevious>[\x21-\x7e]{1,70}) (re)
S| (?P<count>\d+) (?P<uid>[\x21-\x7e]{1,70}) (re)
C: DELE $count
S: +OK
C: UIDL $count
S: -ERR
C: UIDL
S: +OK
S| ...
S| $previous $uidprevious

== uidl-no-such-message-err SPEC state=authenticated
~ "Possible Responses: ... -ERR no such message" (example: "C: UIDL 3 S: -ERR no such message,
~ only 2 messages in maildrop"): message 0 and a number above the count do not exist
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)
C: UIDL ${count}0
S: -ERR
C: UIDL 0
S: -ERR
