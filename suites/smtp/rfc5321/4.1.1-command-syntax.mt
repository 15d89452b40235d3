# suites/smtp/rfc5321/4.1.1-command-syntax.mt
spec: RFC5321 §4.1.1 Command Semantics and Syntax
state: connected

== rset-with-argument-501 SHOULD also="RFC5321 §4.3.2"
> Several commands (RSET, DATA, QUIT) are specified as not permitting
> parameters.  In the absence of specific extensions offered by the
> server and accepted by the client, clients MUST NOT send such
> parameters and servers SHOULD reject commands containing them as
> having invalid syntax.
~ §4.3.2 names the reply: commands that accept no arguments "SHOULD return a 501 message"
S: 220
C: HELO $client
S: 250
C: RSET $run
S: 501

== data-with-argument-501 SHOULD also="RFC5321 §4.3.2"
> In order to provide for
> future extensions, commands that are specified in this document as
> not accepting arguments (DATA, RSET, QUIT) SHOULD return a 501
> message if arguments are supplied in the absence of EHLO-
> advertised extensions.
~ "DATA x" inside a complete envelope is refused with 501 and mail input does not start
S: 220
C: HELO $client
S: 250
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA $run
S: 501
C: RSET
S: 250

== quit-with-argument-501 SHOULD also="RFC5321 §4.3.2"
> In order to provide for
> future extensions, commands that are specified in this document as
> not accepting arguments (DATA, RSET, QUIT) SHOULD return a 501
> message if arguments are supplied in the absence of EHLO-
> advertised extensions.
S: 220
C: HELO $client
S: 250
C: QUIT $run
S: 501

== trailing-white-space-tolerated SHOULD
> (In the interest of improved
> interoperability, SMTP receivers SHOULD tolerate trailing white space
> before the terminating <CRLF>.)
S: 220
C: HELO $client
S: 250
B: MAIL FROM:<$alice> \r\n
S: 250
B: RCPT TO:<$bob>\t\r\n
S: 250
B: RSET  \r\n
S: 250
B: NOOP \r\n
S: 250
