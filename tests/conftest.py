"""Project tests: print what the meta-tests proved (faults detected) at the end of the run."""

from __future__ import annotations

from typing import Any

import pytest


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    detected: list[str] = []
    summary: list[str] = []
    for report in terminalreporter.stats.get("passed", []):
        for key, value in getattr(report, "user_properties", []):
            if key == "fault_detected":
                detected.append(str(value))
            elif key == "fault_summary":
                summary.append(str(value))
    if detected or summary:
        terminalreporter.section("meta-tests: faults detected")
        for line in sorted(detected):
            terminalreporter.write_line(f"  {line}")
        terminalreporter.write_line(f"faults detected: {len(detected)}; " + "; ".join(summary))
