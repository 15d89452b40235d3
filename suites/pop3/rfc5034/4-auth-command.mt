# suites/pop3/rfc5034/4-auth-command.mt
spec: RFC5034 §4 The AUTH Command
requires: STLS, SASL=PLAIN
state: tls
# AUTH PLAIN (RFC 4616) is used inside TLS, where RFC 5034 §4 requires it to work:
# "client and server implementations of this extension MUST implement the PLAIN SASL
# mechanism [RFC4616] running over TLS [RFC2595]".

== auth-plain-initial-response SPEC
> Should the client
> successfully complete the exchange, the server issues a +OK
> reply.  Additionally, upon success, the POP3 session enters the
> TRANSACTION state.
~ AUTH PLAIN with the credentials as initial response: +OK, then STAT works
C: AUTH PLAIN ${b64:\0$alice_login\0$alice_password}
S: +OK
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)

== auth-plain-empty-challenge MUST
> In
> POP3, an empty server challenge is defined as a line with only
> a "+", followed by a single space.  It MUST NOT contain any
> other data.
~ PLAIN needs an initial response; without one the server sends the empty challenge, and
~ the response on the next line completes the login
C: AUTH PLAIN
S: + ^$ (re)
C: ${b64:\0$alice_login\0$alice_password}
S: +OK
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)

== auth-cancel-refused MUST
> If the client wishes to cancel the
> authentication exchange, it issues a line with a single "*".
> If the server receives such a response, it MUST reject the AUTH
> command by sending an -ERR reply.
~ and, as after any failed AUTH, the server "MUST behave as if the client had not issued the
~ AUTH command": still AUTHORIZATION (STAT refused), and a new AUTH succeeds
C: AUTH PLAIN
S: +
C: *
S: -ERR
C: STAT
S: -ERR
C: AUTH PLAIN ${b64:\0$alice_login\0$alice_password}
S: +OK

== auth-wrong-credentials-refused MUST
> If the server is unable to authenticate the client, it MUST
> reject the AUTH command with an -ERR reply.
~ a wrong password and an empty initial response ("=") are refused; the session stays in
~ AUTHORIZATION and a correct AUTH then succeeds
C: AUTH PLAIN ${b64:\0$alice_login\0not-$alice_password}
S: -ERR
C: STAT
S: -ERR
C: AUTH PLAIN =
S: -ERR
C: AUTH PLAIN ${b64:\0$alice_login\0$alice_password}
S: +OK

== auth-unknown-mechanism-refused SPEC
> If the
> requested authentication mechanism is not supported, the server
> rejects the AUTH command with an -ERR reply.
~ and the session goes on: AUTH PLAIN then succeeds
C: AUTH X-MAILCONFORM-NO-SUCH-MECHANISM
S: -ERR
C: AUTH PLAIN ${b64:\0$alice_login\0$alice_password}
S: +OK

== auth-non-base64-character-refused MUST
> In particular, servers and clients MUST reject (and not ignore)
> any character not explicitly allowed by the Base64 alphabet
~ the right credentials behind a "!" (in the initial response and in a continuation line)
~ are refused, not decoded by skipping the "!"; a clean AUTH then succeeds
C: AUTH PLAIN !${b64:\0$alice_login\0$alice_password}
S: -ERR
C: AUTH PLAIN
S: +
C: !${b64:\0$alice_login\0$alice_password}
S: -ERR
C: AUTH PLAIN ${b64:\0$alice_login\0$alice_password}
S: +OK

== auth-misplaced-pad-refused MUST
> and
> MUST reject any sequence of Base64 characters that contains
> the pad character ('=') anywhere other than the end of the
> string (e.g., "=AAA" and "AAA=BBB" are not allowed).
~ the right credentials behind "=" are refused, in the initial response and in a
~ continuation line; a clean AUTH then succeeds
C: AUTH PLAIN =${b64:\0$alice_login\0$alice_password}
S: -ERR
C: AUTH PLAIN
S: +
C: =${b64:\0$alice_login\0$alice_password}
S: -ERR
C: AUTH PLAIN ${b64:\0$alice_login\0$alice_password}
S: +OK

== second-auth-refused MUST
> After a successful AUTH command completes, a server
> MUST reject any further AUTH commands with an -ERR reply.
~ the session stays logged in (STAT answered)
C: AUTH PLAIN ${b64:\0$alice_login\0$alice_password}
S: +OK
C: AUTH PLAIN ${b64:\0$alice_login\0$alice_password}
S: -ERR
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)

== auth-refused-after-user-pass-login MUST state=authenticated also="RFC1939 §3"
> The AUTH command may only be given during the AUTHORIZATION
> state.
~ RFC 1939 §3: "A server MUST respond to a command issued when the session is in an incorrect
~ state by responding with a negative status indicator."; the session stays logged in
C: AUTH PLAIN ${b64:\0$alice_login\0$alice_password}
S: -ERR
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)

== auth-keyword-and-mechanism-case-insensitive MUST cite="RFC5034 §5" also="RFC1939 §3"
> Except as noted otherwise, all alphabetic characters are case-
> insensitive.
~ "Implementations MUST accept these strings in a case-insensitive fashion" (the auth-command
~ grammar's "AUTH" and the mechanism name; base64 stays case-sensitive)
C: auth plain ${b64:\0$alice_login\0$alice_password}
S: +OK
C: STAT
S: +OK (?P<count>\d+) (?P<size>\d+)(?: .*)? (re)

== plaintext-login-refused-before-tls SHOULD state=greeted also="RFC2595 §2.3"
> A server implementation MUST implement a configuration in which
> it does NOT advertise or permit any plaintext password
> mechanisms, unless the STLS command has been used to negotiate
> a TLS session (see [RFC2595]).  As described by RFC 4616, this
> configuration SHOULD be the default configuration.
~ on a connection without TLS, AUTH PLAIN and USER/PASS with the right password are refused
~ (USER itself may be answered either way)
C: AUTH PLAIN ${b64:\0$alice_login\0$alice_password}
S: -ERR
C: USER $alice_login
S!: +
C: PASS $alice_password
S: -ERR
C: STAT
S: -ERR
