# suites/smtp/rfc2920/3.2-partial-command.mt
spec: RFC2920 §3.2 Server support of pipelining
requires: PIPELINING
state: greeted

# A packet that ends in the middle of the next command line.

== noop-reply-not-held-behind-partial-command MUST
> (5)   MUST NOT buffer responses to EHLO, DATA, VRFY, EXPN, TURN,
> QUIT, and NOOP.
~ "NOOP<CRLF>NOOP" arrives in one packet: the first NOOP is answered at once, although the
~ second command line is still incomplete; it is answered when its CRLF arrives.
B: NOOP\r\nNOOP
S: 250
S: <SILENT>
B: \r\n
S: 250

== command-split-across-packets MUST cite="RFC5321 §2.3.8"
> Lines consist of zero or more data characters terminated by the
> sequence ASCII character "CR" (hex value 0D) followed immediately by
> ASCII character "LF" (hex value 0A).
~ a command line sent in three pieces is one line, answered once its CRLF has arrived.
B: NO
S: <SILENT>
B: OP\r
S: <SILENT>
B: \n
S: 250
