"""The runners' shared bookkeeping: which round counts, how two sides compare, the results file."""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmarks import rounds, run_pop3, run_smtp
from benchmarks.pop3_load import LoadResult as Pop3Result
from benchmarks.rounds import (
    CLEANUP_MARKER,
    Destination,
    Rounds,
    file_creation_micros,
    filesystem_type,
    machine_info,
    median_round,
    progress,
    ratio_entry,
    results_document,
    size_label,
    write_results,
)
from benchmarks.smtp_load import LoadResult as SmtpResult

SHM = Path("/dev/shm")


@dataclass(frozen=True)
class Run:
    name: str
    rate: float
    server: str = "ours"
    case: str = "one"

    def as_dict(self) -> dict[str, object]:
        return {"server": self.server, "case": self.case, "rate": self.rate}


def _runs(*rates: float) -> list[Run]:
    return [Run(f"run{number}", rate) for number, rate in enumerate(rates)]


class Report(Rounds[Run]):
    """The smallest runner's report: a case is a name."""

    def median(self, server: str, case: str) -> Run | None:
        return self.median_where(lambda run: run.server == server and run.case == case)


def _report(*runs: tuple[str, str, float]) -> Report:
    report = Report(settings={"repeat": 3}, machine={"cpus": 4, "filesystem": "ext4"})
    report.measurements += [Run(f"{server} {case} {rate}", rate, server, case) for server, case, rate in runs]
    return report


# --- the median round ---------------------------------------------------------------------------


def test_median_of_an_odd_count_is_the_middle_run() -> None:
    runs = _runs(30.0, 10.0, 20.0)
    assert median_round(runs) is runs[2]


def test_median_of_an_even_count_is_the_upper_middle_run_not_a_blend() -> None:
    runs = _runs(10.0, 40.0, 20.0, 30.0)
    assert median_round(runs) is runs[3]  # 30, not (20 + 30) / 2


def test_median_of_one_run_is_that_run() -> None:
    runs = _runs(5.0)
    assert median_round(runs) is runs[0]


def test_median_of_no_runs_is_none() -> None:
    assert median_round([]) is None


def test_median_takes_any_iterable_once() -> None:
    runs = _runs(3.0, 1.0, 2.0)
    assert median_round(run for run in runs) is runs[2]


# --- ratios against a target --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ours", "theirs", "target", "expected"),
    [
        (300.0, 100.0, 2.0, {"ratio": 3.0, "target": 2.0, "met": True}),
        (100.0, 200.0, 0.5, {"ratio": 0.5, "target": 0.5, "met": True}),  # exactly at the target
        (150.0, 400.0, 0.5, {"ratio": 0.38, "target": 0.5, "met": False}),  # rounded to two places
        (0.0, 10.0, 1.0, {"ratio": 0.0, "target": 1.0, "met": False}),  # a measured side with no rate
    ],
    ids=["met", "exactly-at-target", "not-met-rounded", "measured-zero"],
)
def test_ratio_against_a_target(ours: float, theirs: float, target: float, expected: dict[str, object]) -> None:
    assert ratio_entry(Run("ours", ours), Run("theirs", theirs), target) == expected


@pytest.mark.parametrize(
    ("measured", "baseline"),
    [(None, Run("theirs", 10.0)), (Run("ours", 10.0), None), (None, None), (Run("ours", 10.0), Run("theirs", 0.0))],
    ids=["measured-missing", "baseline-missing", "both-missing", "baseline-zero"],
)
def test_no_ratio_without_both_sides(measured: Run | None, baseline: Run | None) -> None:
    assert ratio_entry(measured, baseline, 2.0) is None


# --- the machine and the results file -----------------------------------------------------------


@pytest.mark.skipif(not SHM.is_dir(), reason="no /dev/shm here")
def test_machine_info_names_what_the_results_depend_on() -> None:
    machine = machine_info(SHM)
    assert list(machine) == ["cpus", "kernel", "python", "filesystem"]
    assert machine["filesystem"] == "tmpfs"
    assert machine["python"] == "{}.{}.{}".format(*sys.version_info[:3])
    assert machine["kernel"] == os.uname().release and machine["cpus"] == os.cpu_count()


@pytest.mark.skipif(not SHM.is_dir(), reason="no /dev/shm here")
def test_a_path_under_dev_shm_is_on_tmpfs() -> None:
    assert filesystem_type(SHM / "not-there-need-not-exist") == "tmpfs"


def test_the_root_is_on_some_file_system() -> None:
    assert filesystem_type(Path("/")) not in ("", "unknown")


def test_write_results_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "new" / "folder" / "results.json"
    data: dict[str, object] = {"ratios": {"1024": {"ratio": 2.5, "target": 2.0, "met": True}}, "notes": ["one"]}
    write_results(path, data)
    assert path.read_text() == (
        '{\n  "ratios": {\n    "1024": {\n      "ratio": 2.5,\n      "target": 2.0,\n      "met": true\n'
        '    }\n  },\n  "notes": [\n    "one"\n  ]\n}\n'
    )


def test_results_document_keeps_the_runners_key_order() -> None:
    document = results_document(
        machine={"cpus": 1},
        settings={"repeat": 3},
        medians=iter([{"server": "a"}]),
        ratios={},
        runs=iter([{"server": "a"}, {"server": "b"}]),
        notes=("a note",),
        extra={"memory": {}, "stored": []},
    )
    keys = ["generated", "machine", "settings", "medians", "ratios", "memory", "stored", "runs", "notes"]
    assert list(document) == keys
    assert document["medians"] == [{"server": "a"}] and document["runs"] == [{"server": "a"}, {"server": "b"}]
    assert document["notes"] == ["a note"]
    assert str(document["generated"]).endswith("+00:00")


def test_both_runners_write_the_keys_they_always_wrote() -> None:
    smtp = run_smtp.Report(settings={}, machine={})
    smtp.measurements.append(run_smtp.Measurement("reference", 1024, 0, 10, SmtpResult(10, 1024, sent=10, seconds=1)))
    smtp_keys = ["generated", "machine", "settings", "medians", "ratios", "memory", "stored", "runs", "notes"]
    assert list(smtp.as_dict([1024])) == smtp_keys
    pop3 = run_pop3.Report(settings={}, machine={})
    pop3.measurements.append(run_pop3.Measurement("reference", "retr", 0, Pop3Result("retr", 10, False, ops=5)))
    pop3_keys = ["generated", "machine", "settings", "medians", "ratios", "runs", "notes"]
    assert list(pop3.as_dict()) == pop3_keys


def test_scratch_dir_is_made_under_work_dir_and_removed_even_after_an_error(tmp_path: Path) -> None:
    destination = Destination(work_dir=tmp_path / "not-yet", output=tmp_path / "out.json")
    with pytest.raises(RuntimeError), destination.scratch_dir("bench-") as work_dir:
        assert work_dir.parent == destination.work_dir and work_dir.name.startswith("bench-")
        (work_dir / "mail").write_text("x")
        raise RuntimeError("a run that fails")
    assert destination.work_dir.is_dir() and list(destination.work_dir.iterdir()) == [
        destination.work_dir / CLEANUP_MARKER
    ]


@pytest.mark.parametrize(("age", "waited"), [(10.0, 350.0), (400.0, 0.0)])
def test_settle_waits_out_what_is_left_since_the_last_cleanup(tmp_path: Path, age: float, waited: float) -> None:
    destination = Destination(work_dir=tmp_path, output=tmp_path / "out.json", settle_seconds=360.0)
    marker = tmp_path / CLEANUP_MARKER
    marker.touch()
    os.utime(marker, (time.time() - age, time.time() - age))
    sleeps: list[float] = []
    assert destination.settle(sleeps.append) == pytest.approx(waited, abs=1.0)
    assert sleeps == ([pytest.approx(waited, abs=1.0)] if waited else [])


def test_settle_does_not_wait_on_a_first_run_or_when_told_not_to(tmp_path: Path) -> None:
    sleeps: list[float] = []
    assert Destination(work_dir=tmp_path, output=tmp_path / "o", settle_seconds=360.0).settle(sleeps.append) == 0
    (tmp_path / CLEANUP_MARKER).touch()
    assert Destination(work_dir=tmp_path, output=tmp_path / "o").settle(sleeps.append) == 0
    assert sleeps == []


def test_file_creation_probe_times_new_files_and_leaves_them(tmp_path: Path) -> None:
    assert file_creation_micros(tmp_path, count=5) > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"probe-{i}" for i in range(5)]


def test_publish_writes_the_file_then_prints_the_table_and_where_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    destination = Destination(work_dir=tmp_path, output=tmp_path / "results" / "x.json")
    destination.publish({"notes": []}, "the table")
    assert json.loads(destination.output.read_text()) == {"notes": []}
    assert capsys.readouterr().out == f"the table\nresults: {destination.output}\n"


# --- a runner's report --------------------------------------------------------------------------


def test_report_median_is_per_server_and_case() -> None:
    report = _report(("ours", "a", 10.0), ("ours", "a", 30.0), ("ours", "a", 20.0), ("ours", "b", 99.0))
    report.measurements.append(Run("theirs a", 5.0, "theirs", "a"))
    median = report.median("ours", "a")
    assert median is not None and median.rate == 20.0
    assert report.median("theirs", "b") is None


def test_report_medians_are_in_table_order_and_skip_what_did_not_run() -> None:
    report = _report(("ours", "b", 2.0), ("theirs", "a", 3.0), ("ours", "a", 1.0))
    medians = report.medians(["a", "b"], ["theirs", "ours"])
    assert [(run.server, run.case) for run in medians] == [("theirs", "a"), ("ours", "a"), ("ours", "b")]


def test_report_compare_keys_by_case_and_leaves_out_a_case_with_a_side_missing() -> None:
    report = _report(("ours", "a", 30.0), ("theirs", "a", 10.0), ("ours", "b", 10.0), ("theirs", "b", 40.0))
    report.measurements.append(Run("ours c", 1.0, "ours", "c"))  # no baseline for c
    targets = {"a": 2.0, "b": 0.5, "c": 1.0}
    assert report.compare(["a", "b", "c"], "ours", "theirs", targets.__getitem__) == {
        "a": {"ratio": 3.0, "target": 2.0, "met": True},
        "b": {"ratio": 0.25, "target": 0.5, "met": False},
    }
    assert _report().compare([1024], "ours", "theirs", lambda size: 2.0) == {}


def test_report_document_lists_medians_and_every_run() -> None:
    report = _report(("ours", "a", 1.0), ("ours", "a", 3.0), ("ours", "a", 2.0))
    report.notes.append("a note")
    document = report.document(["a"], ["theirs", "ours"], {}, {"stored": []})
    keys = ["generated", "machine", "settings", "medians", "ratios", "stored", "runs", "notes"]
    assert list(document) == keys
    assert document["medians"] == [{"server": "ours", "case": "a", "rate": 2.0}]
    runs = document["runs"]
    assert isinstance(runs, list) and len(runs) == 3 and document["notes"] == ["a note"]


def test_report_table_text() -> None:
    report = _report()
    report.notes += ["first", "second"]
    text = report.table_text("Title, median of 3 rounds", "heading", ["row 1", "row 2"], ["ratio line"])
    assert text.split("\n") == [
        "Title, median of 3 rounds (4 CPUs, ext4)",
        "heading",
        "row 1",
        "row 2",
        "ratio line",
        "note: first",
        "note: second",
    ]


# --- small things both runners print ------------------------------------------------------------


def test_progress_is_one_indented_line(capsys: pytest.CaptureFixture[str]) -> None:
    progress("warm-up reference 1 KiB")
    assert capsys.readouterr().out == "  warm-up reference 1 KiB\n"


@pytest.mark.parametrize(
    ("octets", "label"),
    [(0, "0 B"), (1000, "1000 B"), (1024, "1 KiB"), (100 * 1024, "100 KiB"), (1536, "1536 B"), (50 << 20, "50 MiB")],
)
def test_size_label(octets: int, label: str) -> None:
    assert size_label(octets) == label


# --- both runners end a run the same way (the measuring itself replaced) ------------------------


def test_smtp_runner_publishes_the_results_and_leaves_no_scratch_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def measure_size(plan: run_smtp.Plan, work_dir: Path, size: int, report: run_smtp.Report) -> None:
        assert work_dir.parent == tmp_path and work_dir.name.startswith("smtp-bench-")
        for server, sent in (("aiosmtpd-durable", 100), ("reference", 300)):
            result = SmtpResult(10, size, sent=sent, seconds=1.0, latencies=[0.002])
            report.measurements.append(run_smtp.Measurement(server, size, 0, sent, result))

    monkeypatch.setattr(run_smtp, "measure_size", measure_size)
    monkeypatch.setattr(rounds, "file_creation_micros", lambda directory: 20.0)  # a settled file system
    output = tmp_path / "smtp.json"
    assert run_smtp.main(["--sizes", "1K", "--no-memory", "--work-dir", str(tmp_path), "--output", str(output)]) == 0
    results = json.loads(output.read_text())
    assert results["ratios"] == {"1024": {"ratio": 3.0, "target": 2.0, "met": True}}
    assert [entry["server"] for entry in results["medians"]] == ["aiosmtpd-durable", "reference"]
    assert sorted(tmp_path.iterdir()) == [tmp_path / CLEANUP_MARKER, output]
    assert results["machine"]["file_create_us"] == 20.0 and results["notes"] == []
    lines = capsys.readouterr().out.splitlines()
    assert lines.pop(0) == "  creating a file takes 20.0 us here now"
    assert lines[0].startswith("SMTP, 10 connections, lockstep, median of 3 rounds (")
    assert lines[2].split() == ["1", "KiB", "aiosmtpd-durable", "100.0", "2.0", "2.0", "100", "0"]
    assert lines[-2:] == ["msgs/s, reference / aiosmtpd-durable: 1 KiB 3.0x (target >= 2x)", f"results: {output}"]


def test_smtp_runner_waits_out_a_recent_cleanup_and_notes_slow_file_creation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / CLEANUP_MARKER).touch()  # a run has just removed its files
    monkeypatch.setattr(run_smtp, "measure_size", lambda plan, work_dir, size, report: None)
    monkeypatch.setattr(rounds, "file_creation_micros", lambda directory: 850.0)
    output = tmp_path / "smtp.json"
    arguments = ["--sizes", "1K", "--no-memory", "--settle-seconds", "0.3", "--work-dir", str(tmp_path)]
    started = time.monotonic()
    assert run_smtp.main([*arguments, "--output", str(output)]) == 0
    assert time.monotonic() - started >= 0.25
    results = json.loads(output.read_text())
    assert results["settings"]["settle_seconds"] == 0.3
    assert results["machine"]["file_create_us"] == 850.0
    assert [note for note in results["notes"] if note.startswith("creating a file took 850.0 us")]
    assert "s for the file system" in capsys.readouterr().out.splitlines()[0]


def test_pop3_runner_writes_nothing_when_the_run_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def run(plan: run_pop3.Plan, work_dir: Path, report: run_pop3.Report) -> None:
        (work_dir / "dovecot").mkdir()
        raise run_pop3.BenchError("Dovecot cannot be installed here")

    monkeypatch.setattr(run_pop3, "run", run)
    output = tmp_path / "pop3.json"
    assert run_pop3.main(["--work-dir", str(tmp_path), "--output", str(output)]) == 1
    assert list(tmp_path.iterdir()) == [tmp_path / CLEANUP_MARKER]
    assert capsys.readouterr().err == "run_pop3: Dovecot cannot be installed here\n"
