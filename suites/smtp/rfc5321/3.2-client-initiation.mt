# suites/smtp/rfc5321/3.2-client-initiation.mt
spec: RFC5321 §3.2 Client Initiation
state: connected

== helo-reply-not-extended MUST
> Servers MUST NOT return the extended EHLO-
> style response to a HELO command.
~ the HELO reply lists none of the registered service extension keywords
S: 220
C: HELO $client
S: 250 lacks=PIPELINING lacks=SIZE lacks=8BITMIME lacks=BINARYMIME lacks=CHUNKING lacks=SMTPUTF8 lacks=ENHANCEDSTATUSCODES lacks=STARTTLS lacks=AUTH lacks=DSN lacks=ETRN lacks=VRFY lacks=EXPN lacks=HELP
