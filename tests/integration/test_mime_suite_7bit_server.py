"""The MIME suite against a 7bit-only server: the 7-bit corpus is checked, the 8-bit messages are never sent.

The server is the reference server as a child process with `[smtp] eight_bit_mime = false`, so
its EHLO lists neither 8BITMIME nor SMTPUTF8 (RFC 6152 §3: a client "must not, under any
circumstances" send it 8-bit data). It is run as an external target, through a target file,
the way a user points the harness at their own server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any, Final

import tomli_w

from reference_server.config import DEFAULT_CONFIG_TOML
from tests.reference_server.queue.queue_support import ROOT, ServeProcess, free_ports

RUN_TIMEOUT: Final = 120
EIGHT_BIT_CASES: Final = {
    "mime/rfc6152/3-8bit-stored::utf8-8bit-intact",
    "mime/rfc6531/3.1-smtputf8-stored::utf8-header-fields-intact",
}


def seven_bit_server_config(work: Path) -> tuple[Path, dict[str, int]]:
    data: dict[str, Any] = tomllib.loads(DEFAULT_CONFIG_TOML)
    data["server"]["mail_root"] = str(work / "mail")
    data["smtp"] = {"eight_bit_mime": False}
    ports = dict(zip(("smtp", "pop3"), free_ports(2), strict=True))
    data["listeners"] = [listener for listener in data["listeners"] if listener["protocol"] in ports]
    for listener in data["listeners"]:
        listener["port"] = ports[listener["protocol"]]
    path = work / "seven-bit.toml"
    path.write_text(tomli_w.dumps(data))
    return path, ports


def target_file(work: Path, ports: dict[str, int]) -> Path:
    target = {
        "name": "seven-bit-reference",
        "domain": "example.test",
        "server_name": "mail.example.test",
        "tls": "starttls",
        "verify_tls": False,
        "unknown": "nobody@example.test",
        "foreign": "someone@elsewhere.invalid",
        "endpoints": {protocol: f"127.0.0.1:{port}" for protocol, port in ports.items()},
        "accounts": {
            "alice": {"login": "alice", "password": "alicepw", "address": "alice@example.test"},
            "bob": {"login": "bob", "password": "bobpw", "address": "bob@example.test"},
        },
    }
    path = work / "target.toml"
    path.write_text(tomli_w.dumps(target))
    return path


def test_seven_bit_corpus_round_trips_and_eight_bit_cases_are_skipped(tmp_path: Path) -> None:
    config, ports = seven_bit_server_config(tmp_path)
    server = ServeProcess(config, tmp_path, "seven-bit")
    server.start()
    try:
        report_dir = tmp_path / "report"
        command = [sys.executable, "-m", "harness", "check", "--suite", "mime", "-n", "0"]
        command += ["--target-file", str(target_file(tmp_path, ports)), "--report-dir", str(report_dir)]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    finally:
        server.stop()

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    cases = {case["id"]: case for case in json.loads((report_dir / "conformance.json").read_text())["cases"]}
    skipped = {case_id for case_id, case in cases.items() if case["outcome"] == "skipped"}
    assert skipped == EIGHT_BIT_CASES
    assert all("8BITMIME" in cases[case_id]["reason"] for case_id in skipped), [cases[c] for c in skipped]
    passed = [case_id for case_id, case in cases.items() if case["outcome"] == "passed"]
    assert len(passed) == 15 and all(case_id.startswith("mime/rfc5321/4.5.2-corpus-stored::") for case_id in passed)
