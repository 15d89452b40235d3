# suites/smtp/rfc5321/3.8-terminating-sessions.mt
spec: RFC5321 §3.8 Terminating Sessions and Connections
state: connected

== unknown-command-tolerated MUST
> In particular, a server that closes connections in response to
> commands that are not understood is in violation of this
> specification.
~ an unknown verb gets an error reply and the session goes on
S: 220
C: HELO $client
S: 250
C: XMAILCONFORMUNKNOWN
S: 5xx
C: NOOP
S: 250
C: MAIL FROM:<$alice>
S: 250

== unknown-command-answered-500 SHOULD cite="RFC5321 §4.2.4" also="RFC5321 §3.8"
> If the command is not recognized, code 500 SHOULD be returned.
S: 220
C: HELO $client
S: 250
C: XMAILCONFORMUNKNOWN
S: 500

== errors-do-not-close MUST
> An SMTP server MUST NOT intentionally close the connection under
> normal operational circumstances (see Section 7.8) except:
~ an unknown command, MAIL without a reverse-path, an unknown MAIL parameter and DATA
~ out of sequence each get an error reply; the session stays open and usable
S: 220
C: HELO $client
S: 250
C: XMAILCONFORMUNKNOWN
S: 5xx
C: MAIL FROM:
S: 5xx
C: MAIL FROM:<$alice> XMAILCONFORM=$run
S: 5xx
C: DATA
S: 5xx
C: NOOP
S: 250
