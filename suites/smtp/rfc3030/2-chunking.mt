# suites/smtp/rfc3030/2-chunking.mt
spec: RFC3030 §2 Framework for the Large Message Extensions
requires: CHUNKING
state: greeted

# A B: line carries "BDAT n" and its n octets of data in one write; the counts are exact
# (no $variables inside chunk data, whose length would vary).

== bdat-last-single-chunk-250 MUST
> A 250 response MUST be sent to each successful BDAT data block within
> a mail transaction.
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
B: BDAT 54 LAST\r\nSubject: one chunk\r\n\r\nThe whole message in one BDAT.\r\n
S: 250

== bdat-chunks-then-last-250 MUST
> A 250 response MUST be sent to each successful BDAT data block within
> a mail transaction.
~ two chunks, the second marked LAST: each gets its own 250.
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
B: BDAT 23\r\nSubject: two chunks\r\n\r\n
S: 250
B: BDAT 30 LAST\r\nThe body, in the last chunk.\r\n
S: 250

== bdat-zero-last-250 MUST
> The last BDAT command
> MAY have a byte-count of zero indicating there is no additional data
> to be sent.
~ the client may end with an empty "BDAT 0 LAST"; the server answers it with 250 like any
~ successful chunk.
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
B: BDAT 45\r\nSubject: zero last\r\n\r\nEnded by BDAT 0 LAST.\r\n
S: 250
C: BDAT 0 LAST
S: 250

== data-after-bdat-503 MUST
> If a
> DATA statement is issued after a BDAT for the current transaction, a
> 503 "Bad sequence of commands" MUST be issued.
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
B: BDAT 10\r\nSubject: r
S: 250
C: DATA
S: 503

== bdat-after-last-503 MUST
> Any BDAT command sent after the BDAT LAST is illegal and
> MUST be replied to with a 503 "Bad sequence of commands" reply code.
~ after the transaction ended with BDAT LAST, another BDAT gets 503; its chunk ("NOOP<CRLF>") is
~ read and thrown away, never run as a command, so only the 503 arrives.
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
B: BDAT 54 LAST\r\nSubject: one chunk\r\n\r\nThe whole message in one BDAT.\r\n
S: 250
B: BDAT 6\r\nNOOP\r\n
S: 503
S: <SILENT>
C: RSET
S: 250

== failed-bdat-data-discarded MUST
> If a failure occurs after a BDAT command is
> received, the receiver-SMTP MUST accept and discard the associated
> message data before sending the appropriate 5XX or 4XX code.
~ BDAT with no accepted recipient fails; its 12 octets ("NOOP<CRLF>NOOP<CRLF>") are data to be
~ discarded, so exactly one 4xx/5xx reply arrives and no NOOP is answered.
C: MAIL FROM:<$alice>
S: 250
B: BDAT 12 LAST\r\nNOOP\r\nNOOP\r\n
S: 4xx|5xx
S: <SILENT>
C: RSET
S: 250

== pipelined-chunks-after-failure-discarded MUST requires=PIPELINING also="RFC2920 §3.2"
> If the receiver-
> SMTP has declared support for command pipelining [PIPE], the receiver
> SMTP MUST be prepared to accept and discard additional BDAT chunks
> already in the pipeline after the failed BDAT.
~ two pipelined BDATs after a MAIL without recipient: both fail, both chunks are discarded,
~ and the "NOOP" lines inside them are never answered.
C: MAIL FROM:<$alice>
S: 250
B: BDAT 6\r\nNOOP\r\nBDAT 6 LAST\r\nNOOP\r\n
S: 4xx|5xx
S: 4xx|5xx
S: <SILENT>
C: RSET
S: 250

== rset-clears-bdat-transaction SPEC also="RFC5321 §4.1.1.5"
> The RSET command, when issued after
> the first BDAT and before the BDAT LAST, clears all segments sent
> during that transaction and resets the session.
~ after RSET a new transaction may use DATA (no "DATA after BDAT" 503).
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
B: BDAT 10\r\nSubject: r
S: 250
C: RSET
S: 250
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
C: Subject: after RSET $run
C:
C: DATA after an abandoned BDAT transaction.
C: .
S: 250

== chunk-content-not-scanned-for-end-of-data SPEC
> Once the receiver-SMTP receives the
> specified number of octets, it will return a 250 reply code.
~ a chunk that contains the line "." is still counted to its end: one 250, and the text after
~ the dot line is not taken for a command.
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
B: BDAT 79 LAST\r\nSubject: dot lines\r\n\r\nA line of one dot follows.\r\n.\r\nIt does not end a chunk.\r\n
S: 250
C: NOOP
S: 250
