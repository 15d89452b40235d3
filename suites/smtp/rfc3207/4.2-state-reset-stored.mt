# suites/smtp/rfc3207/4.2-state-reset-stored.mt
spec: RFC3207 §4.2 Result of the STARTTLS Command
also: RFC5321 §4.4, RFC3030 §2
requires: STARTTLS
state: greeted

# After the TLS handshake the server must have forgotten the EHLO argument it was given in
# plaintext. On the wire that shows only if the client does NOT say EHLO again (a new EHLO
# replaces the old name on a server that forgets nothing, too), and then nothing in the
# replies has to differ: a server may refuse MAIL until a new EHLO (the reference answers
# 503) or accept it (RFC 5321 lets a server take MAIL without EHLO; Postfix does). Where
# the kept name would show is the Received: field of a message sent in that state
# (RFC 5321 §4.4: the FROM clause names "the source host as presented in the EHLO command"),
# so the case delivers one and reads it back over POP3 (skipped without a pop3 endpoint).
#
# Both server choices must pass, and the grammar has no "if":
# - the message goes in with BDAT (RFC 3030), which gets exactly one reply whether the
#   server takes it (250) or refuses the transaction (503, the chunk read and discarded):
#   after a refused MAIL, DATA would turn every text line into a command with a reply of
#   its own. Hence `requires=CHUNKING`, and the RFC 3030 §2 citation: the case relies on a
#   refused chunk being read and discarded, and on the chunk size being counted right. The BDAT text has no $run: its octet count must be
#   written down, and $run's length is the target's business.
# - a marker message of the case's own, sent with the harness's EHLO name before the
#   second EHLO, makes sure the newest message (the last line of LIST) is the marker (the
#   MAIL after TLS was refused) or the BDAT message (accepted); either must carry a
#   Received: field that does not name the pre-TLS EHLO argument.
# Limits: only the first line of each Received: field is read, and the pattern asks for
# SOME Received: field without the name, not for all of them: behind a second hop that
# adds its own trace field above (Postfix handing over to Dovecot by LMTP) a leak in the
# first hop's field would go unseen.

== ehlo-argument-forgotten-after-tls MUST requires=CHUNKING
> Upon completion of the TLS handshake, the SMTP protocol is reset to
> the initial state (the state in SMTP after a server issues a 220
> service ready greeting).  The server MUST discard any knowledge
> obtained from the client, such as the argument to the EHLO command,
> which was not obtained from the TLS negotiation itself.
~ EHLO before-tls-$run..., STARTTLS, then MAIL, RCPT and BDAT LAST without a new EHLO: if
~ the server takes the message, its Received: field does not name before-tls-$run.
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
C: Subject: stls-reset-marker $run
C:
C: Delivered before STARTTLS, under the harness's own EHLO name.
C: .
S: 250
C: EHLO before-tls-$run.mailconform.test
S: 250
C: STARTTLS
S: 220
! starttls
C: MAIL FROM:<$alice>
S: 250|503
C: RCPT TO:<$bob>
S: 250|503
B: BDAT 92 LAST\r\nSubject: stls-reset after STARTTLS without EHLO\r\n\r\nSent after STARTTLS without a new EHLO.\r\n
S: 250|5xx
! deliver bob 0
@box pop3 state=authenticated as=bob
C: LIST
S: +OK *
S| ...
S| $n $octets
C: RETR $n
S: +OK *
S| ...
S| (?i:Received):(?!.*before-tls-).* (re)
S| ...
S| Subject: (?:stls-reset-marker (?P<run>\S+)|stls-reset after STARTTLS without EHLO) (re)
S| ...
C: QUIT
S: +OK
