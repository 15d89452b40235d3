"""The only module that imports allure: labels and the session log for Allure reports.

Labels: epic = protocol, feature = RFC, story = section, severity from the level, so an
Allure report groups results the way the RFCs are organised.
"""

# mypy: disable-error-code="no-untyped-call"
from __future__ import annotations

from typing import Final

import allure

from harness.transcript.model import Case, Level

SEVERITY: Final = {
    Level.MUST: allure.severity_level.CRITICAL,
    Level.SHOULD: allure.severity_level.NORMAL,
    Level.SPEC: allure.severity_level.NORMAL,
    Level.MAY: allure.severity_level.MINOR,
}


def label_case(case: Case) -> None:
    allure.dynamic.epic(case.protocol)
    allure.dynamic.feature(f"RFC {case.citation.rfc}")
    allure.dynamic.story(f"§{case.citation.section} {case.title}".strip())
    allure.dynamic.severity(SEVERITY[case.level])
    allure.dynamic.title(f"{case.slug} ({case.level.value})")
    allure.dynamic.description(case.requirement)
    allure.dynamic.label("level", case.level.value)


def attach_log(log: str) -> None:
    if log:
        allure.attach(log, name="session log", attachment_type=allure.attachment_type.TEXT)
