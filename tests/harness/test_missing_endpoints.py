"""A case that retrieves over POP3 what it sent over SMTP needs both endpoints."""

from __future__ import annotations

from harness.runner import missing_endpoints
from tests.harness.support import loopback_target, one_case

RETRIEVING = """\
spec: RFC5321 §4.5.2 Transparency
protocol: smtp

== stored-as-sent MUST
~ retrieve what was delivered
C: NOOP
S: 250
@box pop3 state=authenticated as=bob
C: STAT
S: +OK *
"""


def test_smtp_only_target_lacks_the_pop3_endpoint() -> None:
    case = one_case(RETRIEVING)
    assert missing_endpoints(case, loopback_target({"smtp": 25})) == ["pop3"]


def test_target_with_both_endpoints_lacks_nothing() -> None:
    case = one_case(RETRIEVING)
    assert missing_endpoints(case, loopback_target({"smtp": 25, "pop3": 110})) == []
