"""What can go wrong for a user agent, each kind with its own exit code.

A script that runs `mailconform mail` must be able to tell "the server is down" from "my
password is wrong" from "Bob's address bounced" without parsing text, so every failure is
one of these classes and the CLI turns it into one line and its code.
"""

from __future__ import annotations

from typing import ClassVar, Final

EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1  # anything not covered below (a local file cannot be written, an editor failed)
EXIT_USAGE: Final = 2  # bad flags or input: an unknown option, a bad address, a missing file
EXIT_CONNECT: Final = 3  # the server cannot be reached, or the connection broke
EXIT_TLS: Final = 4  # no TLS where it was required, or the handshake or certificate failed
EXIT_AUTH: Final = 5  # the server refused the login
EXIT_REFUSED: Final = 6  # the server refused the request: sender, every recipient, the message, a message number
EXIT_PARTIAL: Final = 7  # the message went to some recipients only


class UserAgentError(Exception):
    """A failure the user can act on; `str(error)` is the one line to print."""

    exit_code: ClassVar[int] = EXIT_FAILURE


class UsageError(UserAgentError):
    exit_code = EXIT_USAGE


class ConnectError(UserAgentError):
    exit_code = EXIT_CONNECT


class TlsError(UserAgentError):
    exit_code = EXIT_TLS


class AuthError(UserAgentError):
    exit_code = EXIT_AUTH


class RefusedError(UserAgentError):
    exit_code = EXIT_REFUSED


class PartialDeliveryError(UserAgentError):
    exit_code = EXIT_PARTIAL
