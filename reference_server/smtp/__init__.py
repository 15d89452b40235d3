"""The SMTP and submission server (RFC 5321, RFC 6409 and extensions).

Layers, each in its own module: `parsing` (bytes -> commands, pure), `data` (DATA/BDAT
decoding, pure), `auth` (SASL, pure), `replies` (reply values), `state` (the session
state machine, pure) and `server` (the asyncio edge that performs the effects).
"""
