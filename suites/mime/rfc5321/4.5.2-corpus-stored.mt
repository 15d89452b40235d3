# suites/mime/rfc5321/4.5.2-corpus-stored.mt
spec: RFC5321 §4.5.2 Transparency
protocol: smtp
state: greeted

# Each case sends one message of the MIME corpus (harness/mime/corpus.py) to bob through the
# target's SMTP and reads bob's copy back over POP3 (skipped on a target without a pop3
# endpoint). `! send-corpus` sends the message as mail data, dot-stuffed, then <CRLF>.<CRLF>;
# `! stored-intact` finds the copy by its Message-ID, which carries $case, and compares it
# octet for octet with what was sent, after removing only the trace fields a server
# prepends: Return-Path:, Received: (RFC 5321 §4.4) and Delivered-To:.
#
# Level MUST: the quoted sentence states the duty; the same paragraph lets a server transform
# data for storage only if "they MUST be reversible", so the copy a client reads back is the
# message sent. Every corpus message here is 7-bit: no BODY=8BITMIME, so a 7bit-only server
# runs these cases too (the 8-bit ones are in suites/mime/rfc6152 and rfc6531).

== plain-7bit-intact MUST
> All characters are to be delivered to the recipient's mailbox,
> including spaces, vertical and horizontal tabs, and other control
> characters.
~ text/plain in 7bit with a "-- " signature line: the space at its end is mail data too.
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
! send-corpus plain-7bit
S: 250
! stored-intact plain-7bit

== quoted-printable-intact MUST also="RFC2045 §6.7"
> All characters are to be delivered to the recipient's mailbox,
> including spaces, vertical and horizontal tabs, and other control
> characters.
~ quoted-printable with soft line breaks ("=" at the end of a line) and encoded trailing white space: a server that re-encodes or trims breaks the encoding's own rules.
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
! send-corpus quoted-printable
S: 250
! stored-intact quoted-printable

== base64-binary-intact MUST also="RFC2045 §6.8"
> All characters are to be delivered to the recipient's mailbox,
> including spaces, vertical and horizontal tabs, and other control
> characters.
~ a base64 attachment of 1000 random octets, last line short and padded.
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
! send-corpus base64-binary
S: 250
! stored-intact base64-binary

== base64-empty-intact MUST also="RFC2045 §6.8"
> All characters are to be delivered to the recipient's mailbox,
> including spaces, vertical and horizontal tabs, and other control
> characters.
~ a base64 attachment of zero octets: an empty body part stays empty.
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
! send-corpus base64-empty
S: 250
! stored-intact base64-empty

== base64-full-lines-intact MUST also="RFC2045 §6.8"
> All characters are to be delivered to the recipient's mailbox,
> including spaces, vertical and horizontal tabs, and other control
> characters.
~ a base64 attachment of 20 x 57 octets: every encoded line is exactly 76 characters.
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
! send-corpus base64-full-lines
S: 250
! stored-intact base64-full-lines

== alternative-intact MUST also="RFC2046 §5.1.1"
> All characters are to be delivered to the recipient's mailbox,
> including spaces, vertical and horizontal tabs, and other control
> characters.
~ multipart/alternative (text/plain and text/html): boundaries and parts unchanged.
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
! send-corpus alternative
S: 250
! stored-intact alternative

== mixed-related-intact MUST also="RFC2046 §5.1.1"
> All characters are to be delivered to the recipient's mailbox,
> including spaces, vertical and horizontal tabs, and other control
> characters.
~ multipart/mixed with a nested multipart/related (HTML and an inline JPEG).
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
! send-corpus mixed-related
S: 250
! stored-intact mixed-related

== message-rfc822-intact MUST also="RFC2046 §5.2.1"
> All characters are to be delivered to the recipient's mailbox,
> including spaces, vertical and horizontal tabs, and other control
> characters.
~ a message/rfc822 attachment: the enclosed message's header is mail data, not the outer header.
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
! send-corpus message-rfc822
S: 250
! stored-intact message-rfc822

== encoded-words-intact MUST also="RFC2047 §2"
> All characters are to be delivered to the recipient's mailbox,
> including spaces, vertical and horizontal tabs, and other control
> characters.
~ RFC 2047 encoded-words (B and Q) in Subject and display names.
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
! send-corpus encoded-words
S: 250
! stored-intact encoded-words

== rfc2231-filename-intact MUST also="RFC2231 §3"
> All characters are to be delivered to the recipient's mailbox,
> including spaces, vertical and horizontal tabs, and other control
> characters.
~ an RFC 2231 non-ASCII file name split over parameter continuations on folded lines.
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
! send-corpus rfc2231-filename
S: 250
! stored-intact rfc2231-filename

== long-headers-intact MUST also="RFC5322 §2.2.3"
> All characters are to be delivered to the recipient's mailbox,
> including spaces, vertical and horizontal tabs, and other control
> characters.
~ header fields folded over several lines: the folds are stored where the sender put them.
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
! send-corpus long-headers
S: 250
! stored-intact long-headers

== line-998-intact MUST also="RFC5321 §4.5.3.1.6"
> All characters are to be delivered to the recipient's mailbox,
> including spaces, vertical and horizontal tabs, and other control
> characters.
~ a body line of exactly 998 octets (1000 with CRLF), the longest a server must accept: stored as one line.
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
! send-corpus line-998
S: 250
! stored-intact line-998

== dot-lines-intact MUST
> All characters are to be delivered to the recipient's mailbox,
> including spaces, vertical and horizontal tabs, and other control
> characters.
~ lines that start with ".", one that is only ".": unstuffed once, stored as written.
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
! send-corpus dot-lines
S: 250
! stored-intact dot-lines

== no-final-crlf-intact MUST also="RFC5321 §4.1.1.4"
> All characters are to be delivered to the recipient's mailbox,
> including spaces, vertical and horizontal tabs, and other control
> characters.
~ a body whose last line has no line end: the CRLF before "." ends it, so the stored copy ends in exactly one CRLF.
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
! send-corpus no-final-crlf
S: 250
! stored-intact no-final-crlf

== seed-jpeg-intact MUST also="RFC2045 §6.8"
> All characters are to be delivered to the recipient's mailbox,
> including spaces, vertical and horizontal tabs, and other control
> characters.
~ MIME-Version: 1.0 and a base64 image/jpeg part.
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
! send-corpus seed-jpeg
S: 250
! stored-intact seed-jpeg
