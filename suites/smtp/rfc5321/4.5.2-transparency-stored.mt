# suites/smtp/rfc5321/4.5.2-transparency-stored.mt
spec: RFC5321 §4.5.2 Transparency
state: greeted

# What the server stored, read back over POP3 (skipped on a target without a pop3 endpoint).
# The case's message is the newest in bob's mailbox: the last line of LIST, checked by its
# Subject line carrying $run (see 4.4-trace-information.mt for why that is safe).
#
# Dot-stuffing happens twice on the way: SMTP (RFC 5321 §4.5.2) and POP3 RETR (RFC 1939 §3)
# use the same rule. The client stuffs, the SMTP server removes one dot and stores the text;
# RETR stuffs the stored text again and the harness's POP3 reader removes that dot again. So
# an `S|` line shows exactly the stored line:
#   sent "..x" -> stored ".x"  -> RETR sends "..x"  -> S| .x
#   sent ".."  -> stored "."   -> RETR sends ".."   -> S| .
# A server that forgets to unstuff stores "..x" and "..", which RETR sends as "...x" and
# "...", read back as "..x" and "..": the case fails. A server that unstuffs but whose POP3
# side forgot to stuff again would also fail it (".x" read as "x"), hence the RFC 1939 §3
# citation.

== leading-dot-removed-in-store MUST also="RFC1939 §3"
> If the first character is a period and there are other characters on the line, the first
> character is deleted.
~ lines sent stuffed as "..x", ".." (a line of a single period) and "..." are stored as ".x",
~ "." and "..": the leading dot is deleted and nothing else, and the "." line is mail text,
~ not the end of the data.
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
C: Subject: transparency-stored $run
C: From: <$alice>
C: To: <$bob>
C:
C: before the dotted lines
C: ..x
C: ..
C: ...
C: after the dotted lines
C: .
S: 250
! deliver bob 0
@box pop3 state=authenticated as=bob
C: LIST
S: +OK *
S| ...
S| $n $octets
C: RETR $n
S: +OK *
S| ...
S| Subject: transparency-stored $run
S| ...
S| before the dotted lines
S| .x
S| \. (re)
S| ..
S| after the dotted lines
C: QUIT
S: +OK
