"""The fault registry: realistic defects, each citing a clause that exists, each wired in."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

import pytest

from reference_server.faults import NO_FAULTS, REGISTRY, Faults, UnknownFaultError
from reference_server.main import faults_main

ROOT: Final = Path(__file__).resolve().parents[2]
RFC_DIR: Final = ROOT / "suites" / "rfc"
SERVER_SOURCES: Final = [p for p in (ROOT / "reference_server").rglob("*.py") if p.name != "faults.py"]


def test_at_least_twelve_smtp_faults() -> None:
    assert len([name for name in REGISTRY if name.startswith("smtp.")]) >= 12


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_fault_is_well_formed(name: str) -> None:
    fault = REGISTRY[name]
    assert fault.name == name
    assert re.fullmatch(r"[a-z0-9]+\.[a-z0-9]+(-[a-z0-9]+)*", name)
    assert re.fullmatch(r"RFC \d{3,4}", fault.rfc)
    assert re.fullmatch(r"\d+(\.\d+)*", fault.section)
    assert fault.description and not fault.description.endswith(".")
    assert fault.citation == f"{fault.rfc} §{fault.section}"


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_cited_section_exists_in_the_rfc(name: str) -> None:
    """A citation is only useful if the section is really there."""
    fault = REGISTRY[name]
    text = (RFC_DIR / f"rfc{fault.rfc.split()[1]}.txt").read_text(encoding="utf-8", errors="replace")
    heading = re.compile(rf"^{re.escape(fault.section)}\.?\s+\S", re.MULTILINE)
    assert heading.search(text), f"{fault.citation} is not a section heading"


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_fault_is_read_by_the_server(name: str) -> None:
    """Each flag is consulted where the behaviour is decided; an unread flag proves nothing."""
    readers = [p for p in SERVER_SOURCES if f'"{name}"' in p.read_text(encoding="utf-8")]
    assert readers, f"no server module reads {name}"


def test_faults_set() -> None:
    faults = Faults.of(["smtp.rset-ignored", "smtp.quit-no-close"])
    assert faults.on("smtp.rset-ignored") and faults.on("smtp.quit-no-close")
    assert not faults.on("smtp.open-relay")
    assert faults.listed() == ["smtp.quit-no-close", "smtp.rset-ignored"]
    assert not NO_FAULTS.on("smtp.open-relay")


def test_unknown_fault_names_the_known_ones() -> None:
    with pytest.raises(UnknownFaultError) as raised:
        Faults.of(["smtp.no-such-thing"])
    assert "smtp.no-such-thing" in str(raised.value)
    assert "smtp.dot-unstuffing-missing" in str(raised.value)


def test_asking_about_an_unregistered_fault_is_a_bug() -> None:
    with pytest.raises(KeyError):
        NO_FAULTS.on("smtp.typo")


def test_faults_command_lists_every_fault(capsys: pytest.CaptureFixture[str]) -> None:
    assert faults_main([]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(REGISTRY)
    for line, name in zip(lines, sorted(REGISTRY), strict=True):
        fault = REGISTRY[name]
        assert line.startswith(name)
        assert fault.citation in line and fault.description in line


def test_every_fault_is_documented() -> None:
    doc = (ROOT / "docs" / "reference-server.md").read_text(encoding="utf-8")
    for name, fault in REGISTRY.items():
        assert re.search(rf"^\| `{re.escape(name)}` \| {re.escape(fault.citation)} \|", doc, re.MULTILINE), name
