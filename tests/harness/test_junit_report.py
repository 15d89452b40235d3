"""junit.xml from a real run satisfies the constraints of the common JUnit schema.

The schema CI systems validate against (Jenkins' junit-10.xsd, which pytest's xunit2
family targets) requires: a `testsuites` or `testsuite` root; on `testsuite` the
attributes name, tests, failures, errors, skipped and time; on `testcase` name,
classname and time; at most one of failure/error/skipped per case, each with a message;
and counts that agree with the cases. These are checked on a run that has a pass, a
MUST failure, a SHOULD deviation and a skip.
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.support import free_port, smtp_child

ROOT = Path(__file__).resolve().parents[2]

TRANSCRIPT = """\
spec: RFC5321 §4.1.1.9 NOOP (NOOP)
protocol: smtp
state: greeted

== noop-ok MUST
~ NOOP is answered 250
C: NOOP
S: 250

== noop-wrong-on-purpose MUST
~ a deliberately wrong expectation
C: NOOP
S: 554

== should-level-deviation SHOULD
~ a deliberately wrong SHOULD-level expectation
C: NOOP
S: 421

== needs-missing-extension MUST requires=XMAILCONFORMNEVER
~ skipped: the server does not advertise it
C: NOOP
S: 250
"""


@pytest.fixture
def aiosmtpd_port() -> Iterator[int]:
    port = free_port()
    with smtp_child([sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}"], port, "aiosmtpd"):
        yield port


def test_junit_xml_meets_schema_constraints(tmp_path: Path, aiosmtpd_port: int) -> None:
    suite = tmp_path / "noop.mt"
    suite.write_text(TRANSCRIPT)
    junit = tmp_path / "junit.xml"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "harness.plugin",
            "-p",
            "no:cacheprovider",
            str(suite),
            f"--rootdir={ROOT}",
            "-c",
            str(ROOT / "pyproject.toml"),
            f"--smtp=127.0.0.1:{aiosmtpd_port}",
            f"--junitxml={junit}",
            "-o",
            "junit_family=xunit2",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stdout  # the MUST failure, and only it, fails the run
    root = ET.parse(junit).getroot()
    suites = [root] if root.tag == "testsuite" else list(root)
    assert root.tag in ("testsuites", "testsuite")
    assert all(s.tag == "testsuite" for s in suites)
    for testsuite in suites:
        for attribute in ("name", "tests", "failures", "errors", "skipped", "time"):
            assert attribute in testsuite.attrib, attribute
        cases = testsuite.findall("testcase")
        assert int(testsuite.attrib["tests"]) == len(cases) == 4
        outcomes: dict[str, str] = {}
        for case in cases:
            for attribute in ("name", "classname", "time"):
                assert attribute in case.attrib, attribute
            float(case.attrib["time"])
            results = [child for child in case if child.tag in ("failure", "error", "skipped")]
            assert len(results) <= 1
            for result in results:
                assert result.attrib.get("message"), f"{result.tag} without message in {case.attrib['name']}"
            outcomes[case.attrib["name"]] = results[0].tag if results else "passed"
        assert int(testsuite.attrib["failures"]) == sum(1 for o in outcomes.values() if o == "failure")
        assert int(testsuite.attrib["skipped"]) == sum(1 for o in outcomes.values() if o == "skipped")
        assert int(testsuite.attrib["errors"]) == sum(1 for o in outcomes.values() if o == "error")
        assert outcomes == {
            "noop-ok": "passed",
            "noop-wrong-on-purpose": "failure",
            "should-level-deviation": "skipped",
            "needs-missing-extension": "skipped",
        }
