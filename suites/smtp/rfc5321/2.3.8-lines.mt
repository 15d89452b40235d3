# suites/smtp/rfc5321/2.3.8-lines.mt
spec: RFC5321 §2.3.8 Lines
state: greeted

== bare-lf-does-not-end-command MUST
> Conforming implementations MUST
> NOT recognize or generate any other character or character sequence
> as a line terminator.
~ "NOOP one<LF>two<CRLF>" is one command line (NOOP with an odd argument): exactly one reply
~ arrives, whatever its code. A server that splits lines at a bare LF answers "NOOP one" and
~ then the unknown command "two".
B: NOOP one\ntwo\r\n
S: 2xx|5xx
S: <SILENT>

== bare-cr-does-not-end-command MUST
> Conforming implementations MUST
> NOT recognize or generate any other character or character sequence
> as a line terminator.
~ "NOOP one<CR>two<CRLF>" is one command line: exactly one reply arrives.
B: NOOP one\rtwo\r\n
S: 2xx|5xx
S: <SILENT>

== reply-lines-end-in-crlf MUST
> Conforming implementations MUST
> NOT recognize or generate any other character or character sequence
> as a line terminator.
~ every line of the server's replies ends in CRLF (the multi-line EHLO reply included).
C: EHLO $client
S: 250 wellformed
C: NOOP
S: 250 wellformed
