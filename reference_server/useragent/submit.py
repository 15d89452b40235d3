"""Submitting a message (RFC 6409) with smtplib, every failure named for the user.

TLS comes first and is not optional by accident: with `starttls` a server that does not
offer STARTTLS is an error, never a silent fall-back to plaintext (RFC 3207 §4 leaves the
decision to the client; RFC 8314 §5.2 asks user agents to require it by default). A
password is sent in clear only when the user said `--tls none`.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass

from reference_server.useragent.compose import Composed, needs_smtputf8
from reference_server.useragent.connect import (
    ServerAddress,
    ServerSettings,
    network_failure,
    reply_text,
    tls_failure,
)
from reference_server.useragent.errors import (
    AuthError,
    ConnectError,
    PartialDeliveryError,
    RefusedError,
    TlsError,
    UserAgentError,
)
from reference_server.useragent.retrieve import Credentials


@dataclass(frozen=True)
class Submitted:
    """What the server accepted: the message went to every one of `recipients`."""

    message_id: str
    recipients: tuple[str, ...]


def _reply(code: int, text: bytes | str) -> str:
    return f"{code} {reply_text(text)}"


def refused_lines(refused: Mapping[str, tuple[int, bytes]]) -> list[str]:
    return [f"recipient <{rcpt}> refused: {_reply(code, text)}" for rcpt, (code, text) in refused.items()]


def _open(settings: ServerSettings, local_hostname: str | None) -> smtplib.SMTP:
    address = settings.address
    try:
        if settings.tls == "implicit":
            return smtplib.SMTP_SSL(
                address.host,
                address.port,
                local_hostname=local_hostname,
                timeout=settings.timeout,
                context=settings.context,
            )
        return smtplib.SMTP(address.host, address.port, local_hostname=local_hostname, timeout=settings.timeout)
    except smtplib.SMTPConnectError as exc:
        raise RefusedError(f"{address} refused the session: {_reply(exc.smtp_code, exc.smtp_error)}") from None
    except smtplib.SMTPServerDisconnected:
        raise ConnectError(f"{address} closed the connection before its greeting") from None
    except OSError as exc:
        raise network_failure(address, exc, connected=False) from None


def _starttls(client: smtplib.SMTP, settings: ServerSettings) -> None:
    client.ehlo()
    if not client.has_extn("starttls"):
        raise TlsError(
            f"{settings.address} does not offer STARTTLS; refusing to send mail in clear (use --tls none to allow it)"
        )
    try:
        client.starttls(context=settings.context)  # smtplib forgets the old EHLO answer and sends EHLO again
    except smtplib.SMTPResponseException as exc:
        raise TlsError(f"{settings.address} refused STARTTLS: {_reply(exc.smtp_code, exc.smtp_error)}") from None


def _login(client: smtplib.SMTP, address: ServerAddress, credentials: Credentials) -> None:
    client.ehlo_or_helo_if_needed()
    if not client.has_extn("auth"):
        raise AuthError(f"{address} does not offer AUTH on this connection; cannot log in as {credentials.login}")
    try:
        client.login(credentials.login, credentials.password)
    except smtplib.SMTPAuthenticationError as exc:
        raise AuthError(
            f"authentication failed for {credentials.login}: {_reply(exc.smtp_code, exc.smtp_error)}"
        ) from None
    except smtplib.SMTPException as exc:  # no mechanism both sides know
        raise AuthError(f"cannot log in as {credentials.login} at {address}: {exc}") from None


def _send(client: smtplib.SMTP, composed: Composed, address: ServerAddress) -> dict[str, tuple[int, bytes]]:
    mail_options = ["SMTPUTF8"] if needs_smtputf8(composed) and client.has_extn("smtputf8") else []
    try:
        refused = client.send_message(
            composed.message, composed.envelope_from, list(composed.recipients), mail_options=mail_options
        )
    except smtplib.SMTPRecipientsRefused as exc:
        raise RefusedError("\n".join(refused_lines(exc.recipients))) from None
    except smtplib.SMTPSenderRefused as exc:
        raise RefusedError(
            f"sender <{composed.envelope_from}> refused: {_reply(exc.smtp_code, exc.smtp_error)}"
        ) from None
    except smtplib.SMTPDataError as exc:
        raise RefusedError(f"message refused: {_reply(exc.smtp_code, exc.smtp_error)}") from None
    except smtplib.SMTPNotSupportedError as exc:  # non-ASCII addresses and no SMTPUTF8
        raise RefusedError(f"{address}: {exc}") from None
    return dict(refused)


def submit(
    composed: Composed,
    settings: ServerSettings,
    credentials: Credentials | None,
    *,
    local_hostname: str | None = None,
) -> Submitted:
    """Deliver `composed` to its envelope recipients through one submission session.

    Raises PartialDeliveryError when only some recipients were accepted: the message was
    sent to the rest, and the error says which went and which did not.
    """
    address = settings.address
    client = _open(settings, local_hostname)
    try:
        if settings.tls == "starttls":
            _starttls(client, settings)
        if credentials is not None:
            _login(client, address, credentials)
        refused = _send(client, composed, address)
        with contextlib.suppress(smtplib.SMTPException, OSError):
            client.quit()  # the message was accepted already (250 after the data); QUIT is a courtesy
    except smtplib.SMTPServerDisconnected:
        raise ConnectError(f"{address} closed the connection") from None
    except smtplib.SMTPResponseException as exc:
        raise UserAgentError(f"{address} answered {_reply(exc.smtp_code, exc.smtp_error)}") from None
    except smtplib.SMTPException as exc:
        raise UserAgentError(f"{address}: {exc}") from None
    except ssl.SSLError as exc:
        raise tls_failure(address, exc) from None
    except OSError as exc:
        raise network_failure(address, exc, connected=True) from None
    finally:
        client.close()
    message_id = str(composed.message.get("Message-ID", ""))
    if refused:
        sent = [r for r in composed.recipients if r not in refused]
        lines = [*refused_lines(refused), f"the message was sent to {', '.join(f'<{r}>' for r in sent)} only"]
        raise PartialDeliveryError("\n".join(lines))
    return Submitted(message_id, composed.recipients)
