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
