# suites/smtp/rfc5321/4.5.3.1-size-limits.mt
spec: RFC5321 §4.5.3.1 Size Limits and Minimums
state: greeted

# Each case sends an object of exactly the minimum size a server MUST receive. The reply may
# still refuse it for another reason (a sender or relay policy), but never for its length:
# 500 (line too long) and 501 (path too long, syntax) are the length refusals of §4.5.3.1.9.

== local-part-64-octets-accepted MUST cite="RFC5321 §4.5.3.1.1"
> The maximum total length of a user name or other local-part is 64
> octets.
~ every implementation MUST be able to receive objects of at least these sizes (§4.5.3.1):
~ a reverse-path whose local part is 64 octets long is not refused for its length.
C: MAIL FROM:<${repeat:64:l}@$domain>
S!: 500|501

== domain-255-octets-accepted MUST cite="RFC5321 §4.5.3.1.2"
> Every implementation MUST be able to receive objects of at least
> these sizes.
~ a domain of 255 octets (four labels of 63 octets) is accepted as the EHLO argument.
C: EHLO ${repeat:63:a}.${repeat:63:b}.${repeat:63:c}.${repeat:63:d}
S: 250

== path-256-octets-accepted MUST cite="RFC5321 §4.5.3.1.3"
> The maximum total length of a reverse-path or forward-path is 256
> octets (including the punctuation and element separators).
~ "<" + 64-octet local part + "@" + 189-octet domain + ">" is 256 octets: not refused for its length.
C: MAIL FROM:<${repeat:64:l}@${repeat:63:a}.${repeat:63:b}.${repeat:61:c}>
S!: 500|501

== command-line-512-octets-accepted MUST cite="RFC5321 §4.5.3.1.4"
> The maximum total length of a command line including the command word
> and the <CRLF> is 512 octets.
~ "NOOP" SP 505 octets CRLF is exactly 512 octets; NOOP takes an optional string (§4.1.1.9).
C: NOOP ${repeat:505:n}
S: 250

== text-line-1000-octets-accepted MUST cite="RFC5321 §4.5.3.1.6"
> The maximum total length of a text line including the <CRLF> is 1000
> octets (not counting the leading dot duplicated for transparency).
~ a message with a text line of 998 octets plus CRLF is accepted.
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
C: Subject: long line $run
C:
C: ${repeat:998:t}
C: .
S: 250

== stuffed-text-line-1000-octets-accepted MUST cite="RFC5321 §4.5.3.1.6" also="RFC5321 §4.5.2"
> The maximum total length of a text line including the <CRLF> is 1000
> octets (not counting the leading dot duplicated for transparency).
~ a 1000-octet text line starting with a period is 1001 octets on the wire; the stuffed dot
~ does not count, so the message is accepted.
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
C: Subject: long stuffed line $run
C:
C: ..${repeat:997:t}
C: .
S: 250

== message-64k-octets-accepted MUST cite="RFC5321 §4.5.3.1.7" also="RFC5321 §4.5.3.1.6"
> The maximum total length of a message content (including any message
> header section as well as the message body) MUST BE at least 64K
> octets.
~ a message of about 66000 octets (66 lines of 1000 octets) is accepted.
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
C: Subject: 64K message $run
C:
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: ${repeat:998:m}
C: .
S: 250
