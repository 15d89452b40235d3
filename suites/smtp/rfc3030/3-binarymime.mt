# suites/smtp/rfc3030/3-binarymime.mt
spec: RFC3030 §3 Framework for the Binary Service Extension
requires: CHUNKING BINARYMIME
state: greeted

== binarymime-with-data-503 MUST
> BINARYMIME cannot be used with the DATA command.  If a DATA command
> is issued after a MAIL command containing the body-value of
> "BINARYMIME", a 503 "Bad sequence of commands" response MUST be sent.
C: MAIL FROM:<$alice> BODY=BINARYMIME
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 503
C: RSET
S: 250

== binarymime-with-bdat-accepted SPEC also="RFC3030 §2"
> When the receiver-SMTP accepts a
> MAIL command with the BINARYMIME body-value, it agrees to preserve
> all bits in each octet passed using the BDAT command.
~ the message announced as BINARYMIME is sent with BDAT and accepted.
C: MAIL FROM:<$alice> BODY=BINARYMIME
S: 250
C: RCPT TO:<$bob>
S: 250
B: BDAT 36 LAST\r\nSubject: binary\r\n\r\nBINARYMIME data\r\n
S: 250
