# suites/smtp/rfc5321/4.4-trace-information.mt
spec: RFC5321 §4.4 Trace Information
state: greeted

# Trace fields exist only in the stored message, so each case delivers a message to bob and
# reads it back over POP3 (the case is skipped on a target without a pop3 endpoint).
# The reference server is shared by every case a worker runs, and other suites write to bob's
# mailbox too, so a case finds ITS message as the newest one: the last line of LIST (message
# numbers follow arrival order, RFC 1939 §5), whose Subject carries $run and the case slug.
# Cases of one worker run one at a time, so nothing can arrive after it; if something did,
# the Subject line would not match and the case would fail rather than pass wrongly.
# `! deliver bob 0` sends nothing: it only waits the target's fixture_settle, for MTAs that
# hand the message to the mailbox a moment after their 250. Messages are not deleted.
# Field names are case-insensitive (RFC 5322 §1.2.2), hence `(?i:...)` in the patterns.

== received-prepended MUST
> When an SMTP server receives a message for delivery or further
> processing, it MUST insert trace ("time stamp" or "Received")
> information at the beginning of the message content
~ the message's first header line is its Subject; in the stored copy a Received: field comes
~ before it (after the Return-Path line that final delivery puts first).
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
C: Subject: trace-received $run
C: From: <$alice>
C: To: <$bob>
C:
C: The stored copy starts with trace fields.
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
S| (?i:Received):.* (re)
S| ...
S| Subject: trace-received $run
S| ...
C: QUIT
S: +OK

== received-from-clause MUST
> The FROM clause, which MUST be supplied in an SMTP environment,
~ the Received: field the server adds starts with the FROM clause (Stamp = From-domain
~ By-domain ...; keywords are case-insensitive). Only the first line of the field is read,
~ so a FROM clause folded onto a continuation line would be missed.
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
C: Subject: trace-from-clause $run
C: From: <$alice>
C: To: <$bob>
C:
C: The Received: field names where the message came from.
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
S| (?i:Received):[ \t]+(?i:from)[ \t]+\S.* (re)
S| ...
S| Subject: trace-from-clause $run
S| ...
C: QUIT
S: +OK

== received-above-existing-trace MUST
> An Internet mail program MUST NOT change or delete a Received: line
> that was previously added to the message header section.  SMTP
> servers MUST prepend Received lines to messages; they MUST NOT change
> the order of existing lines or insert Received lines in any other
> location.
~ a message that already carries two Received: fields (as if relayed twice) is stored with
~ the server's own Received: field above them and the two old ones unchanged, in their order.
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
C: Received: from hop2.example.test (hop2.example.test [192.0.2.2])
C: 	by hop3.example.test with ESMTP id hop2-$run; Thu, 26 Nov 2026 12:00:02 +0000
C: Received: from hop1.example.test (hop1.example.test [192.0.2.1])
C: 	by hop2.example.test with ESMTP id hop1-$run; Thu, 26 Nov 2026 12:00:01 +0000
C: Subject: trace-order $run
C: From: <$alice>
C: To: <$bob>
C:
C: Two earlier hops left their trace fields.
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
S| (?i:Received):.* (re)
S| ...
S| Received: from hop2.example.test (hop2.example.test [192.0.2.2])
S| 	by hop3.example.test with ESMTP id hop2-$run; Thu, 26 Nov 2026 12:00:02 +0000
S| Received: from hop1.example.test (hop1.example.test [192.0.2.1])
S| 	by hop2.example.test with ESMTP id hop1-$run; Thu, 26 Nov 2026 12:00:01 +0000
S| Subject: trace-order $run
S| ...
C: QUIT
S: +OK

== return-path-on-final-delivery MUST
> When the delivery SMTP server makes the "final delivery" of a
> message, it inserts a return-path line at the beginning of the mail
> data.  This use of return-path is required; mail systems MUST support
> it.  The return-path line preserves the information in the <reverse-
> path> from the MAIL command.
~ delivery to a local mailbox is final delivery: the stored copy begins with
~ "Return-Path:" FWS Reverse-path, the reverse-path of MAIL as given (the first line of the
~ message; "the final mail data will begin with a return path line").
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
C: Subject: trace-return-path $run
C: From: <$alice>
C: To: <$bob>
C:
C: The stored copy begins with the reverse-path.
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
S| (?i:Return-Path):[ \t]+<(?P<alice>[^>]*)> (re)
S| ...
S| Subject: trace-return-path $run
S| ...
C: QUIT
S: +OK

== return-path-null-reverse-path MUST
> When the delivery SMTP server makes the "final delivery" of a
> message, it inserts a return-path line at the beginning of the mail
> data.  This use of return-path is required; mail systems MUST support
> it.  The return-path line preserves the information in the <reverse-
> path> from the MAIL command.
~ with the null reverse-path (MAIL FROM:<>, as notifications use, §3.6) the line is
~ "Return-Path: <>".
C: MAIL FROM:<>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
C: Subject: trace-null-return-path $run
C: From: <$alice>
C: To: <$bob>
C:
C: Sent with the null reverse-path.
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
S| (?i:Return-Path):[ \t]+<> (re)
S| ...
S| Subject: trace-null-return-path $run
S| ...
C: QUIT
S: +OK
