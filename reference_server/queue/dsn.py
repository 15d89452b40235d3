"""Delivery status notifications: the bounce a sender gets when the queue gives up on recipients.

RFC 5321 §6.1 makes the server that said 250 responsible for telling the sender when it
cannot deliver after all; §3.7 / §4.5.5 say how that notification travels (null
reverse-path, so that it can never cause another notification). Its format is the one of
RFC 3464: a multipart/report (report-type=delivery-status) with

1. a text/plain part for people,
2. a message/delivery-status part: per-message fields (Reporting-MTA, Arrival-Date), then one
   group per failed recipient (Final-Recipient, Action, Status, Remote-MTA, Diagnostic-Code,
   Last-Attempt-Date; RFC 3464 §2.2 and §2.3),
3. the original message's header section as text/rfc822-headers (the body is not returned).

Pure: the clock, the addresses and the original header come in as arguments. Built with the
stdlib `email` package under an explicit policy (CRLF, 7-bit transfer encodings), so a parser
reads back exactly what was meant.
"""

from __future__ import annotations

import email.policy
import email.utils
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from typing import Final

# Lines may reach the hard limit of 998 octets (RFC 5322 §2.1.1) rather than the advisory 78: a
# Diagnostic-Code carries the remote reply verbatim (RFC 3464 §2.3.6), and folding a long reply
# at 78 would turn its long words into encoded-words that programs reading the report cannot use.
POLICY: Final = email.policy.SMTP.clone(cte_type="7bit", max_line_length=998)
SUBJECT: Final = "Undelivered Mail Returned to Sender"
_STATUS: Final = re.compile(r"([245])\.(\d{1,3})\.(\d{1,3})")


@dataclass(frozen=True)
class FailedRecipient:
    """A recipient given up on, with the reply (or local reason) that decided it."""

    address: str
    code: int | None  # None: no reply (connection failure, timeout)
    enhanced: str | None
    text: str
    remote: str | None = None  # "host:port" of the server that answered
    last_attempt: datetime | None = None


def dsn_status(code: int | None, enhanced: str | None) -> str:
    """The Status field (RFC 3464 §2.3.4): the enhanced code if it agrees with the reply, else derived.

    A recipient that only ever got temporary failures keeps a 4.x.x status with Action:
    failed when the queue gives up, as the note on action and status codes in RFC 3464
    §2.3.3 describes; without any reply it is 4.4.1, "No answer from host" (RFC 3463 §3.5).
    """
    match = _STATUS.fullmatch(enhanced) if enhanced is not None else None
    if match is not None and (code is None or str(code)[0] == match[1]):
        return f"{match[1]}.{int(match[2])}.{int(match[3])}"  # no leading zeros (§2.3.4)
    if code is None:
        return "4.4.1"
    return f"{code // 100}.0.0"


def _remote_host(remote: str) -> str:
    host, sep, port = remote.rpartition(":")
    return host.strip("[]") if sep and port.isdigit() else remote


def _human_text(hostname: str, failed: Sequence[FailedRecipient]) -> str:
    lines = [
        f"This is the mail system at host {hostname}.",
        "",
        "Your message could not be delivered to one or more recipients; the mail system has",
        "given up on them. The reasons are below, and the header of your message is attached.",
        "",
    ]
    for recipient in failed:
        if recipient.code is None:
            reason = recipient.text or "no reply"
        else:
            enhanced = f" {recipient.enhanced}" if recipient.enhanced else ""
            said = f"host {recipient.remote} said: " if recipient.remote else ""
            reason = f"{said}{recipient.code}{enhanced} {recipient.text}".rstrip()
        lines.append(f"<{recipient.address}>: {reason}")
    return "\n".join(lines) + "\n"


def _fields(*pairs: tuple[str, str]) -> Message:
    group = Message(policy=POLICY)
    for name, value in pairs:
        group[name] = value
    return group


def _part(part: Message) -> Message:
    del part["MIME-Version"]  # required at the top level only (RFC 2045 §4)
    return part


def build_notification(
    *,
    hostname: str,
    to: str,
    original_header: bytes,
    arrival: datetime,
    failed: Sequence[FailedRecipient],
    now: datetime,
    message_id: str | None = None,
) -> bytes:
    """The complete notification message (CRLF line ends), ready to deliver or to queue."""
    if not failed:
        raise ValueError("a delivery status notification needs at least one failed recipient")
    report = MIMEMultipart("report", policy=POLICY, report_type="delivery-status")
    report["From"] = f"Mail Delivery System <MAILER-DAEMON@{hostname}>"
    report["To"] = to
    report["Subject"] = SUBJECT
    report["Date"] = email.utils.format_datetime(now)
    report["Message-ID"] = message_id or email.utils.make_msgid("dsn", domain=hostname)
    report["Auto-Submitted"] = "auto-replied"  # automatic responders must not answer it
    human = _human_text(hostname, failed)
    report.attach(_part(MIMEText(human, "plain", "us-ascii" if human.isascii() else "utf-8", policy=POLICY)))

    groups: list[Message | str] = [
        _fields(("Reporting-MTA", f"dns; {hostname}"), ("Arrival-Date", email.utils.format_datetime(arrival)))
    ]
    for recipient in failed:
        fields = [
            ("Final-Recipient", f"rfc822; {recipient.address}"),
            ("Action", "failed"),
            ("Status", dsn_status(recipient.code, recipient.enhanced)),
        ]
        if recipient.remote:
            fields.append(("Remote-MTA", f"dns; {_remote_host(recipient.remote)}"))
        if recipient.code is not None:
            enhanced = f" {recipient.enhanced}" if recipient.enhanced else ""
            fields.append(("Diagnostic-Code", f"smtp; {recipient.code}{enhanced} {recipient.text}".rstrip()))
        if recipient.last_attempt is not None:
            fields.append(("Last-Attempt-Date", email.utils.format_datetime(recipient.last_attempt)))
        groups.append(_fields(*fields))
    status = MIMEBase("message", "delivery-status", policy=POLICY)
    status.set_payload(groups)
    report.attach(_part(status))

    header = original_header.rstrip(b"\r\n").decode("utf-8", "replace").replace("\r\n", "\n") + "\n"
    charset = "us-ascii" if header.isascii() else "utf-8"
    report.attach(_part(MIMEText(header, "rfc822-headers", charset, policy=POLICY)))
    return report.as_bytes(policy=POLICY)
