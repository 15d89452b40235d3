# suites/pop3/rfc1939/10-usage-flows.mt
spec: RFC1939 §10 Example POP3 Session
also: RFC1939 §5, RFC1939 §6
state: greeted
# End-to-end flows of a mail client: mail arrives through SMTP, is fetched, and is either
# deleted (the POP3 default, RFC 2449 §7: "POP3 is intended as a download-and-delete
# protocol") or left on the server and recognised later by its unique-id.

== download-and-delete SPEC
~ STAT, LIST, RETR, DELE, QUIT as in the example session: the message is retrieved whole, and
~ after QUIT it is gone from the maildrop (the next session no longer has its number)
@smtp smtp state=greeted
C: MAIL FROM:<$bob>
S: 250
C: RCPT TO:<$alice>
S: 250
C: DATA
S: 354
C: From: <$bob>
C: To: <$alice>
C: Date: Thu, 26 Nov 2026 12:00:00 +0000
C: Message-ID: <download-and-delete-$run@mailconform.test>
C: Subject: download-and-delete $run
C:
C: Fetch me, then delete me.
C: .
S: 250
# no fixture: only the target's fixture_settle wait, so the mail sent above is in the maildrop
! deliver alice 0
@pop pop3 state=authenticated
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)
C: LIST
S: +OK
S| ...
S| (?P<count>\d+) (?P<octets>\d+)(?: .*)? (re)
C: RETR $count
S: +OK
S| ...
S| Subject: download-and-delete $run
S| ...
S|
S| Fetch me, then delete me.
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

== download-and-keep SPEC requires=UIDL also="RFC1939 §7"
~ the client notes the unique-id, retrieves the message and quits without DELE; the next
~ session finds the same message under the same unique-id and retrieves it again
@smtp smtp state=greeted
C: MAIL FROM:<$bob>
S: 250
C: RCPT TO:<$alice>
S: 250
C: DATA
S: 354
C: From: <$bob>
C: To: <$alice>
C: Date: Thu, 26 Nov 2026 12:00:00 +0000
C: Message-ID: <download-and-keep-$run@mailconform.test>
C: Subject: download-and-keep $run
C:
C: Fetch me and leave me on the server.
C: .
S: 250
# no fixture: only the target's fixture_settle wait, so the mail sent above is in the maildrop
! deliver alice 0
@pop pop3 state=authenticated
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)
C: UIDL $count
S: +OK (?P<count>\d+) (?P<uid>[\x21-\x7e]{1,70}) (re)
C: RETR $count
S: +OK
S| ...
S| Subject: download-and-keep $run
S| ...
S|
S| Fetch me and leave me on the server.
C: QUIT
S: +OK
S: <EOF>
! reconnect
C: UIDL
S: +OK
S| ...
S| $count $uid
S| ...
C: RETR $count
S: +OK
S| ...
S| Subject: download-and-keep $run
S| ...
S|
S| Fetch me and leave me on the server.
