# suites/smtp/rfc5321/4.5.3.1.8-recipients-buffer.mt
spec: RFC5321 §4.5.3.1.8 Recipients Buffer
state: greeted

# One hundred RCPT commands for the same mailbox: the RFC counts RCPT commands, and
# a duplicate forward-path is still a recipient the server has to buffer.

== hundred-recipients-buffered MUST
> The minimum total number of recipients that MUST be buffered is 100
> recipients.  Rejection of messages (for excessive recipients) with
> fewer than 100 RCPT commands is a violation of this specification.
~ 100 RCPT commands are all accepted and the message is then accepted.
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
C: Subject: one hundred recipients $run
C:
C: Sent to the same mailbox one hundred times.
C: .
S: 250

== recipient-over-limit-452 MUST cite="RFC5321 §4.5.3.1.10" also="RFC5321 §4.5.3.1.8"
> If an SMTP server has an implementation limit on the number of RCPT
> commands and this limit is exhausted, it MUST use a response code of
> 452 (but the client SHOULD also be prepared for a 552, as noted
> above).
~ and, §4.5.3.1.8, a server that imposes a limit MUST behave in an orderly fashion:
~ after 100 accepted recipients the 101st is accepted (a higher limit) or refused with 452,
~ and the recipients already accepted still make a transaction: DATA gets 354, the message 250.
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250
C: RCPT TO:<$bob>
S: 250|452
C: DATA
S: 354
C: Subject: one hundred and one recipients $run
C:
C: The 101st recipient may have been refused with 452.
C: .
S: 250

== header-recipients-not-counted SHOULD
> The general principle that relaying SMTP server MUST NOT, and
> delivery SMTP servers SHOULD NOT, perform validation tests on message
> header fields suggests that messages SHOULD NOT be rejected based on
> the total number of recipients shown in header fields.
~ one envelope recipient, 150 addresses in the To: field: the message is accepted.
C: MAIL FROM:<$alice>
S: 250
C: RCPT TO:<$bob>
S: 250
C: DATA
S: 354
C: Subject: many header recipients $run
C: To: Reader 001 <$bob>,
C:  Reader 002 <$bob>,
C:  Reader 003 <$bob>,
C:  Reader 004 <$bob>,
C:  Reader 005 <$bob>,
C:  Reader 006 <$bob>,
C:  Reader 007 <$bob>,
C:  Reader 008 <$bob>,
C:  Reader 009 <$bob>,
C:  Reader 010 <$bob>,
C:  Reader 011 <$bob>,
C:  Reader 012 <$bob>,
C:  Reader 013 <$bob>,
C:  Reader 014 <$bob>,
C:  Reader 015 <$bob>,
C:  Reader 016 <$bob>,
C:  Reader 017 <$bob>,
C:  Reader 018 <$bob>,
C:  Reader 019 <$bob>,
C:  Reader 020 <$bob>,
C:  Reader 021 <$bob>,
C:  Reader 022 <$bob>,
C:  Reader 023 <$bob>,
C:  Reader 024 <$bob>,
C:  Reader 025 <$bob>,
C:  Reader 026 <$bob>,
C:  Reader 027 <$bob>,
C:  Reader 028 <$bob>,
C:  Reader 029 <$bob>,
C:  Reader 030 <$bob>,
C:  Reader 031 <$bob>,
C:  Reader 032 <$bob>,
C:  Reader 033 <$bob>,
C:  Reader 034 <$bob>,
C:  Reader 035 <$bob>,
C:  Reader 036 <$bob>,
C:  Reader 037 <$bob>,
C:  Reader 038 <$bob>,
C:  Reader 039 <$bob>,
C:  Reader 040 <$bob>,
C:  Reader 041 <$bob>,
C:  Reader 042 <$bob>,
C:  Reader 043 <$bob>,
C:  Reader 044 <$bob>,
C:  Reader 045 <$bob>,
C:  Reader 046 <$bob>,
C:  Reader 047 <$bob>,
C:  Reader 048 <$bob>,
C:  Reader 049 <$bob>,
C:  Reader 050 <$bob>,
C:  Reader 051 <$bob>,
C:  Reader 052 <$bob>,
C:  Reader 053 <$bob>,
C:  Reader 054 <$bob>,
C:  Reader 055 <$bob>,
C:  Reader 056 <$bob>,
C:  Reader 057 <$bob>,
C:  Reader 058 <$bob>,
C:  Reader 059 <$bob>,
C:  Reader 060 <$bob>,
C:  Reader 061 <$bob>,
C:  Reader 062 <$bob>,
C:  Reader 063 <$bob>,
C:  Reader 064 <$bob>,
C:  Reader 065 <$bob>,
C:  Reader 066 <$bob>,
C:  Reader 067 <$bob>,
C:  Reader 068 <$bob>,
C:  Reader 069 <$bob>,
C:  Reader 070 <$bob>,
C:  Reader 071 <$bob>,
C:  Reader 072 <$bob>,
C:  Reader 073 <$bob>,
C:  Reader 074 <$bob>,
C:  Reader 075 <$bob>,
C:  Reader 076 <$bob>,
C:  Reader 077 <$bob>,
C:  Reader 078 <$bob>,
C:  Reader 079 <$bob>,
C:  Reader 080 <$bob>,
C:  Reader 081 <$bob>,
C:  Reader 082 <$bob>,
C:  Reader 083 <$bob>,
C:  Reader 084 <$bob>,
C:  Reader 085 <$bob>,
C:  Reader 086 <$bob>,
C:  Reader 087 <$bob>,
C:  Reader 088 <$bob>,
C:  Reader 089 <$bob>,
C:  Reader 090 <$bob>,
C:  Reader 091 <$bob>,
C:  Reader 092 <$bob>,
C:  Reader 093 <$bob>,
C:  Reader 094 <$bob>,
C:  Reader 095 <$bob>,
C:  Reader 096 <$bob>,
C:  Reader 097 <$bob>,
C:  Reader 098 <$bob>,
C:  Reader 099 <$bob>,
C:  Reader 100 <$bob>,
C:  Reader 101 <$bob>,
C:  Reader 102 <$bob>,
C:  Reader 103 <$bob>,
C:  Reader 104 <$bob>,
C:  Reader 105 <$bob>,
C:  Reader 106 <$bob>,
C:  Reader 107 <$bob>,
C:  Reader 108 <$bob>,
C:  Reader 109 <$bob>,
C:  Reader 110 <$bob>,
C:  Reader 111 <$bob>,
C:  Reader 112 <$bob>,
C:  Reader 113 <$bob>,
C:  Reader 114 <$bob>,
C:  Reader 115 <$bob>,
C:  Reader 116 <$bob>,
C:  Reader 117 <$bob>,
C:  Reader 118 <$bob>,
C:  Reader 119 <$bob>,
C:  Reader 120 <$bob>,
C:  Reader 121 <$bob>,
C:  Reader 122 <$bob>,
C:  Reader 123 <$bob>,
C:  Reader 124 <$bob>,
C:  Reader 125 <$bob>,
C:  Reader 126 <$bob>,
C:  Reader 127 <$bob>,
C:  Reader 128 <$bob>,
C:  Reader 129 <$bob>,
C:  Reader 130 <$bob>,
C:  Reader 131 <$bob>,
C:  Reader 132 <$bob>,
C:  Reader 133 <$bob>,
C:  Reader 134 <$bob>,
C:  Reader 135 <$bob>,
C:  Reader 136 <$bob>,
C:  Reader 137 <$bob>,
C:  Reader 138 <$bob>,
C:  Reader 139 <$bob>,
C:  Reader 140 <$bob>,
C:  Reader 141 <$bob>,
C:  Reader 142 <$bob>,
C:  Reader 143 <$bob>,
C:  Reader 144 <$bob>,
C:  Reader 145 <$bob>,
C:  Reader 146 <$bob>,
C:  Reader 147 <$bob>,
C:  Reader 148 <$bob>,
C:  Reader 149 <$bob>,
C:  Reader 150 <$bob>
C:
C: One envelope recipient, one hundred and fifty header recipients.
C: .
S: 250
