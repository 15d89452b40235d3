# suites/smtp/rfc5321/4.1.1.4-data.mt
spec: RFC5321 §4.1.1.4 DATA (DATA)
state: greeted

# The SMTP smuggling family. Each case hides a second transaction behind a line-end
# variant that a lenient server takes for the end of the data. On a conforming server
# the "smuggled" commands are mail text: the real <CRLF>.<CRLF> gets exactly one reply
# (250, or a rejection of the bare line ends) and nothing follows it. A vulnerable
# server also answers MAIL, RCPT and DATA, and then accepts a second message.

== lf-dot-lf-is-not-end-of-data MUST
> In particular, the sequence "<LF>.<LF>" (bare line
> feeds, without carriage returns) MUST NOT be treated as equivalent to
> <CRLF>.<CRLF> as the end of mail data indication.
~ after <LF>.<LF> the server is still reading mail data: it must not reply yet.
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
B: Subject: bare LF end $run\r\n\r\nfirst line\n.\n
S: <SILENT>
B: last line\r\n.\r\n
S: 250|4xx|5xx

== lf-dot-lf-smuggling MUST also="RFC5321 §2.3.8"
> In particular, the sequence "<LF>.<LF>" (bare line
> feeds, without carriage returns) MUST NOT be treated as equivalent to
> <CRLF>.<CRLF> as the end of mail data indication.
~ commands after <LF>.<LF> are mail text: one reply after the real end of data, then nothing.
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
B: Subject: smuggling LF.LF $run\r\n\r\nbody\n.\nMAIL FROM:<$alice>\r\nRCPT TO:<$bob>\r\nDATA\r\n
B: Subject: smuggled $run\r\n\r\nsmuggled body\r\n.\r\n
S: 250|4xx|5xx
S: <SILENT>

== lf-dot-crlf-smuggling MUST also="RFC5321 §2.3.8"
> The custom of accepting lines ending only in <LF>, as a concession to
> non-conforming behavior on the part of some UNIX systems, has proven
> to cause more interoperability problems than it solves, and SMTP
> server systems MUST NOT do this, even in the name of improved
> robustness.
~ <LF>.<CR><LF> is a bare LF followed by the line ".<CRLF>" that does not start a line: not the end of data.
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
B: Subject: smuggling LF.CRLF $run\r\n\r\nbody\n.\r\nMAIL FROM:<$alice>\r\nRCPT TO:<$bob>\r\nDATA\r\n
B: Subject: smuggled $run\r\n\r\nsmuggled body\r\n.\r\n
S: 250|4xx|5xx
S: <SILENT>

== crlf-dot-lf-smuggling MUST also="RFC5321 §2.3.8"
> The custom of accepting lines ending only in <LF>, as a concession to
> non-conforming behavior on the part of some UNIX systems, has proven
> to cause more interoperability problems than it solves, and SMTP
> server systems MUST NOT do this, even in the name of improved
> robustness.
~ <CR><LF>.<LF> is a line "." ended by a bare LF: not the end of data.
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
B: Subject: smuggling CRLF.LF $run\r\n\r\nbody\r\n.\nMAIL FROM:<$alice>\r\nRCPT TO:<$bob>\r\nDATA\r\n
B: Subject: smuggled $run\r\n\r\nsmuggled body\r\n.\r\n
S: 250|4xx|5xx
S: <SILENT>

== cr-dot-cr-smuggling MUST cite="RFC5321 §2.3.8" also="RFC5321 §4.1.1.4"
> Conforming implementations MUST
> NOT recognize or generate any other character or character sequence
> as a line terminator.
~ <CR>.<CR> (bare carriage returns) is not a line end either, so it cannot end the data.
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
B: Subject: smuggling CR.CR $run\r\n\r\nbody\r.\rMAIL FROM:<$alice>\r\nRCPT TO:<$bob>\r\nDATA\r\n
B: Subject: smuggled $run\r\n\r\nsmuggled body\r\n.\r\n
S: 250|4xx|5xx
S: <SILENT>

== dot-lf-at-start-is-not-end-of-data MUST
> In particular, the sequence "<LF>.<LF>" (bare line
> feeds, without carriage returns) MUST NOT be treated as equivalent to
> <CRLF>.<CRLF> as the end of mail data indication.
~ right after the 354 reply, the first line ".<LF>" is not the end of data either (the <CRLF>
~ that ended the DATA command stands for the leading <CRLF>).
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
B: .\n
S: <SILENT>
B: Subject: dot LF first $run\r\n\r\nbody\r\n.\r\n
S: 250|4xx|5xx

== buffers-cleared-after-end-of-data MUST also="RFC5321 §3.3"
> This
> processing consumes the information in the reverse-path buffer, the
> forward-path buffer, and the mail data buffer, and on the completion
> of this command these buffers are cleared.
~ after the reply to the end of data no transaction is open: RCPT needs a new MAIL (503).
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
C: Subject: buffers cleared $run
C:
C: One message.
C: .
S: 250
C: RCPT TO:<$bob>
S: 503
