# suites/pop3/rfc1939/5-list.mt
spec: RFC1939 §5 The TRANSACTION State: LIST
state: greeted

== list-scan-listing-format MUST
> A
> scan listing consists of the message-number of the message,
> followed by a single space and the exact size of the message in
> octets.
~ "all POP3 servers are required to use a certain format for scan listings", for LIST msg and
~ for each line of LIST; both give the same listing for the same message
! deliver alice 1
@pop pop3 state=authenticated
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)
C: LIST $count
S: +OK (?P<count>\d+) (?P<octets>\d+)(?: .*)? (re)
C: LIST
S: +OK
S| ...
S| (?P<count>\d+) (?P<octets>\d+)(?: .*)? (re)

== list-size-counts-line-ends-as-crlf MUST cite="RFC1939 §11" also="RFC1939 §5"
> if the POP3 server host internally represents
> end-of-line as a single character, then the POP3 server simply counts
> each occurrence of this character in a message as two octets.
~ §5 requires "the exact size of the message in octets", which is what RETR sends, each line
~ ending in CRLF. Two messages with identical headers and bodies of 48 octets each (4 lines of 12
~ octets, 2 lines of 24) have the same exact size; a count of one octet per line end tells
~ them apart. The messages bring their own Date and Message-ID of equal length so that a
~ server adds nothing that differs between them.
@smtp smtp state=greeted
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$alice>
S: 250
C: DATA
S: 354
C: From: <$alice>
C: To: <$alice>
C: Subject: octets-a $run
C: Message-ID: <octets-a-$run@mailconform.test>
C: Date: Thu, 26 Nov 2026 12:00:00 +0000
C:
C: 0123456789
C: 0123456789
C: 0123456789
C: 0123456789
C: .
S: 250
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$alice>
S: 250
C: DATA
S: 354
C: From: <$alice>
C: To: <$alice>
C: Subject: octets-b $run
C: Message-ID: <octets-b-$run@mailconform.test>
C: Date: Thu, 26 Nov 2026 12:00:00 +0000
C:
C: 0123456789012345678901
C: 0123456789012345678901
C: .
S: 250
# no fixture: only the target's fixture_settle wait, so the mail sent above is in the maildrop
! deliver alice 0
@pop pop3 state=authenticated
C: LIST
S: +OK
S| ...
S| (?P<first>\d+) (?P<octets>\d+)(?: .*)? (re)
S| (?P<second>\d+) (?P<octets>\d+)(?: .*)? (re)
# the two equal listings are the two messages above (in either order)
C: RETR $first
S: +OK
S| ...
S| Subject: octets-* $run
S| ...
C: RETR $second
S: +OK
S| ...
S| Subject: octets-* $run
S| ...

== list-excludes-deleted-messages SPEC
> Note that messages marked as deleted are not listed.
~ after DELE of the last message, LIST msg refuses it and LIST ends with the message before it
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
C: LIST $count
S: -ERR
C: LIST
S: +OK
S| ...
S| (?P<previous>\d+) (?P<before>\d+)(?: .*)? (re)

== list-no-such-message-err SPEC state=authenticated
~ "Possible Responses: ... -ERR no such message": message 0 and a number above the message
~ count (ten times the count) do not exist (example: "C: LIST 3 S: -ERR no such message, only
~ 2 messages in maildrop")
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)
C: LIST ${count}0
S: -ERR
C: LIST 0
S: -ERR
C: STAT
S: +OK $count $size
