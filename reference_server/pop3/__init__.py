"""The POP3 server (RFC 1939, with CAPA from RFC 2449, STLS from RFC 2595, AUTH from RFC 5034).

Layers, each in its own module: `parsing` (command lines and message encoding, pure),
`responses` (response values), `maildrop` (the session's numbered listing and the
maildrop lock), `state` (the session state machine, pure) and `server` (the asyncio edge
that performs the effects).
"""
