# suites/smtp/rfc5321/4.2-smtp-replies.mt
spec: RFC5321 §4.2 SMTP Replies
state: connected

== one-reply-per-command MUST also="RFC5321 §4.5.3.1.4, RFC5321 §3.8"
> Every command MUST generate exactly one reply.
~ each command, including a 1500-octet NOOP line (over the 512-octet command line
~ minimum of §4.5.3.1.4, so refused as too long or accepted), gets exactly one reply;
~ after the last reply nothing more arrives
S: 220
C: HELO $client
S: 250
C: NOOP ${repeat:1495:x}
S: 250|500
C: NOOP
S: 250
C: XMAILCONFORMUNKNOWN
S: 5xx
C: RSET
S: 250
S: <SILENT>

== replies-well-formed MUST also="RFC5321 §4.2.1, RFC5321 §4.3.2, RFC5321 §2.3.8, RFC5321 §3.8, RFC2034 §4"
> In the absence of extensions negotiated with the client, SMTP servers
> MUST NOT send reply codes whose first digits are other than 2, 3, 4,
> or 5.
~ positive and negative replies alike: three digits, first digit 2-5, one code per reply,
~ SP or "-" after the code, CRLF line ends (§2.3.8); where a reply carries an enhanced status
~ code, its class must agree with the reply code (RFC 2034 §4)
S: 220 wellformed
C: HELO $client
S: 250 wellformed
C: NOOP
S: 250 wellformed
C: XMAILCONFORMUNKNOWN
S: 5xx wellformed
C: MAIL FROM:
S: 5xx wellformed
C: RSET
S: 250 wellformed
C: DATA
S: 5xx wellformed
C: MAIL FROM:<$alice>
S: 250 wellformed
C: RCPT TO:<$bob>
S: 250 wellformed
C: RSET
S: 250 wellformed
C: QUIT
S: 221 wellformed
