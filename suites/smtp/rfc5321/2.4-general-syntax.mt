# suites/smtp/rfc5321/2.4-general-syntax.mt
spec: RFC5321 §2.4 General Syntax Principles and Transaction Model
state: connected

# HELO rather than EHLO opens these sessions: a multi-line EHLO reply would make every
# later step depend on the reply format of §4.2.1, which these cases do not check.

== lower-case-commands-accepted MUST
> Verbs and argument values (e.g., "TO:" or "to:" in the RCPT command
> and extension name keywords) are not case sensitive, with the sole
> exception in this specification of a mailbox local-part
~ a whole session in lower case gets the replies the same commands get in upper case;
~ ABNF string literals (RFC 5234) are case-insensitive, so the grammar makes this a MUST
S: 220
C: helo $client
S: 250
C: mail from:<$alice>
S: 250
C: rcpt to:<$bob>
S: 250
C: data
S: 354
C: Subject: lower-case commands $run
C:
C: Sent with lower-case verbs and keywords.
C: .
S: 250
C: noop
S: 250
C: rset
S: 250
C: quit
S: 221

== mixed-case-commands-accepted MUST
> That is,
> a command verb, an argument value other than a mailbox local-part,
> and free form text MAY be encoded in upper case, lower case, or any
> mixture of upper and lower case with no impact on its meaning.
S: 220
C: HeLo $client
S: 250
C: MaIl FrOm:<$alice>
S: 250
C: RcPt tO:<$bob>
S: 250
C: rSeT
S: 250
C: NoOp
S: 250
