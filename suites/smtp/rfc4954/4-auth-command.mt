# suites/smtp/rfc4954/4-auth-command.mt
spec: RFC4954 §4 The AUTH Command
protocol: submission
requires: AUTH
state: tls

# AUTH over TLS on the submission port, where RFC 4954 §3 (6) says it belongs. SASL
# tokens are built from the target's credentials with ${b64:...}.

== plain-with-initial-response-235 MUST also="RFC4616 §2"
> To ensure interoperability, client and server implementations of this
> extension MUST implement the [PLAIN] SASL mechanism running over TLS
> [TLS] [SMTP-TLS].
C: AUTH PLAIN ${b64:\0$alice_login\0$alice_password}
S: 235

== plain-without-initial-response-empty-challenge MUST also="RFC4616 §2"
> If the initial
> response argument is omitted and the chosen mechanism requires an
> initial client response, the server MUST proceed as defined in
> Section 5.1 of [SASL].  In SMTP, a server challenge that contains no
> data is defined as a 334 reply with no text part.
~ AUTH PLAIN alone gets the empty challenge "334 ", and the PLAIN message on the next line succeeds.
C: AUTH PLAIN
S: 334
C: ${b64:\0$alice_login\0$alice_password}
S: 235

== login-mechanism-challenges SPEC requires=AUTH=LOGIN
> A server challenge is sent as a 334 reply with the text part
> containing the [BASE64] encoded string supplied by the SASL
> mechanism.
~ the LOGIN mechanism (offered by many servers, never standardised) asks for the user name and
~ then the password with two 334 challenges; each response is one base64 line.
C: AUTH LOGIN
S: 334
C: ${b64:$alice_login}
S: 334
C: ${b64:$alice_password}
S: 235

== bad-credentials-535 SHOULD
> If the server is unable to authenticate the client, it SHOULD reject
> the AUTH command with a 535 reply unless a more specific error code
> is appropriate.
C: AUTH PLAIN ${b64:\0$alice_login\0not-$alice_password-$run}
S: 535

== retry-after-failed-auth SPEC
> If an AUTH command fails, the client MAY proceed without
> authentication.  Alternatively, the client MAY try another
> authentication mechanism or present different credentials by issuing
> another AUTH
~ a failed AUTH does not block the session: AUTH with the right credentials then succeeds.
C: AUTH PLAIN ${b64:\0$alice_login\0not-$alice_password-$run}
S: 5xx
C: AUTH PLAIN ${b64:\0$alice_login\0$alice_password}
S: 235

== second-auth-503 MUST state=authenticated
> After a successful AUTH command completes, a server MUST reject any
> further AUTH commands with a 503 reply.
C: AUTH PLAIN ${b64:\0$alice_login\0$alice_password}
S: 503

== cancel-with-asterisk-501 MUST
> If the client wishes to cancel the
> authentication exchange, it issues a line with a single "*".
> If the server receives such a response, it MUST reject the
> AUTH command by sending a 501 reply.
C: AUTH PLAIN
S: 334
C: *
S: 501

== invalid-base64-response-501 MUST also="RFC2034 §4"
> If the server cannot [BASE64] decode any client response, it
> MUST reject the AUTH command with a 501 reply (and an enhanced
> status code of 5.5.2).
~ the response is a valid PLAIN token with a "!" in front: a server that skips characters outside
~ the base64 alphabet would log the client in instead of refusing the response.
C: AUTH PLAIN
S: 334
C: !${b64:\0$alice_login\0$alice_password}
S: 501 5.5.2

== invalid-base64-initial-response-501 MUST also="RFC2034 §4"
> If the server cannot [BASE64] decode any client response, it
> MUST reject the AUTH command with a 501 reply (and an enhanced
> status code of 5.5.2).
~ the same malformed token as the initial response on the AUTH line.
C: AUTH PLAIN !${b64:\0$alice_login\0$alice_password}
S: 501 5.5.2

== unknown-mechanism-504 SPEC
> If the
> requested authentication mechanism is invalid (e.g., is not
> supported or requires an encryption layer), the server rejects
> the AUTH command with a 504 reply.
C: AUTH X-MC-NO-SUCH-MECH
S: 504

== equals-sign-is-an-empty-response SPEC also="RFC4616 §2"
> If the client is transmitting an initial response of zero
> length, it MUST instead transmit the response as a single
> equals sign ("=").  This indicates that the response is
> present, but contains no data.
~ "AUTH PLAIN =" carries an empty PLAIN message: the server evaluates it and fails the
~ authentication (501 malformed or 535), instead of prompting with 334 as if nothing was sent.
C: AUTH PLAIN =
S: 501|535

== plaintext-auth-refused-before-tls SHOULD state=greeted requires=STARTTLS
> Server sites SHOULD NOT use any configuration which
> permits a plaintext password mechanism without such a protection
> mechanism against password snooping.
~ before STARTTLS, AUTH PLAIN with valid credentials is refused (e.g. 530, 538, 503 or 504).
~ (Only where STARTTLS is offered: on an implicit-TLS endpoint the greeting is already protected.)
C: AUTH PLAIN ${b64:\0$alice_login\0$alice_password}
S: 4xx|5xx
