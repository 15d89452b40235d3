"""The one error a protocol reader raises.

Readers are lenient: a reply that bends the RFC is still returned, with the deviation recorded
in its ``defects``. Only a byte stream that cannot be cut into replies at all (an SMTP line with
no reply code, a line that never ends) stops the reader, because any reply after that point
would be a guess. After this error the reader's buffer is in an unspecified state; call
``reset()`` or discard the reader.
"""

from __future__ import annotations

__all__ = ["ReplyFramingError"]


class ReplyFramingError(ValueError):
    """The server's bytes cannot be framed into replies; the message says where and why."""
