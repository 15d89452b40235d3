spec: RFC5321 §4.5.2 Transparency
state: greeted

== leading-dot-line-not-end-of-data MUST
> When a line of mail text is received by the SMTP server, it checks
> the line.  If the line is composed of a single period, it is
> treated as the end of mail indicator.  If the first character is a
> period and there are other characters on the line, the first
> character is deleted.
~ a stuffed line "..x" is mail text, not the end of data; the data ends only at the lone "."
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
C: Subject: transparency $run
C:
C: ..
C: ..not the end
C: .
S: 250
C: NOOP
S: 250

== dot-space-line-is-not-end-of-data MUST
> If the line is composed of a single period, it is
> treated as the end of mail indicator.
~ a line of a period and a space is not "composed of a single period": the server keeps reading.
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
B: Subject: dot space $run\r\n\r\n. \r\n
S: <SILENT>
C: .
S: 250

== end-of-data-split-across-packets MUST
> If the line is composed of a single period, it is
> treated as the end of mail indicator.
~ <CRLF>.<CRLF> ends the data however the octets are split into TCP segments.
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
B: Subject: split end $run\r\n\r\nlast line\r
S: <SILENT>
B: \n.
S: <SILENT>
B: \r\n
S: 250
C: NOOP
S: 250
