# suites/smtp/rfc3207/4.2-result-of-starttls.mt
spec: RFC3207 §4.2 Result of the STARTTLS Command
requires: STARTTLS
state: greeted

== ehlo-after-tls-lacks-starttls MUST state=tls
> A server MUST NOT return the STARTTLS
> extension in response to an EHLO command received after a TLS
> handshake has completed.
C: EHLO $client
S: 250 lacks=STARTTLS

== plaintext-after-starttls-not-executed MUST also="RFC3207 §6"
> Upon completion of the TLS handshake, the SMTP protocol is reset to
> the initial state (the state in SMTP after a server issues a 220
> service ready greeting).  The server MUST discard any knowledge
> obtained from the client, such as the argument to the EHLO command,
> which was not obtained from the TLS negotiation itself.
~ command injection: "RSET" sent in plaintext right behind STARTTLS must be thrown away, not
~ executed inside the TLS session. The handshake starts with nothing else from the server, and
~ inside TLS no reply arrives until the client speaks; then only its own command is answered.
B: STARTTLS\r\nRSET\r\n
S: 220
! starttls
S: <SILENT>
C: EHLO $client
S: 250
C: NOOP
S: 250
