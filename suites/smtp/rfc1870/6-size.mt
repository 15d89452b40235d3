# suites/smtp/rfc1870/6-size.mt
spec: RFC1870 §6 The extended MAIL command
requires: SIZE
state: greeted

# RFC 1870 predates RFC 2119; its lower-case "must" is its requirement keyword.

== declared-size-within-limit-accepted MUST cite="RFC1870 §7" also="RFC1870 §6"
> Such a server must accept the
> extended MAIL command and return a 552 reply code if the client's
> declared size exceeds its fixed size limit (if any), but it need not
> detect "temporary" limitations on message size.
~ a MAIL command with a small SIZE= declaration is accepted and the transaction completes.
C: MAIL FROM:<$alice> SIZE=1000
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
C: Subject: declared size $run
C:
C: A message well under one thousand octets.
C: .
S: 250

== declared-size-over-limit-552 MUST cite="RFC1870 §6.1" also="RFC1870 §7"
> (2) If the indicated size is larger than the server's fixed maximum
> message size, the server responds with code "552 message size
> exceeds fixed maximium message size".
~ SIZE=99999999999999999999 (the largest 20-digit size-value) exceeds any fixed limit: 552.
~ A server that advertises no fixed limit may only answer 250 after checking its resources
~ (§7); no server can store 10^20 octets, so its answer is 452 "insufficient system storage".
C: MAIL FROM:<$alice> SIZE=99999999999999999999
S: 552|452

== size-does-not-end-data MUST
> NOTE: Servers MUST NOT use the SIZE parameter to determine end of
> content in the DATA command.
~ after the declared 20 octets the server still reads mail data until <CRLF>.<CRLF>; a message
~ larger than declared may be accepted or refused after the data (§6.3), but only then.
C: MAIL FROM:<$alice> SIZE=20
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
B: Subject: twenty-one\r\n
S: <SILENT>
C:
C: More text than the declared size.
C: .
S: 250|552
