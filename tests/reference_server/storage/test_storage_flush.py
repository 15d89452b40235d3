"""Flushes: one syncfs per file system a batch touches, errors kept to the items they concern."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from reference_server.storage import flush as flush_module
from reference_server.storage.api import FLUSH_METHODS
from reference_server.storage.flush import FsyncFlush, SyncfsFlush, make_flush


class _SyncfsCalls:
    """Stands in for syncfs(2): records the device of each descriptor it is called on."""

    def __init__(self, fail_device: int | None = None) -> None:
        self.devices: list[int] = []
        self.fail_device = fail_device

    def __call__(self, fd: int) -> int:
        device = os.fstat(fd).st_dev
        self.devices.append(device)
        return -1 if device == self.fail_device else 0


@pytest.fixture
def files(tmp_path: Path) -> Iterator[list[int]]:
    descriptors = []
    for name in ("a", "b", "c"):
        descriptor = os.open(tmp_path / name, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(descriptor, b"data")
        descriptors.append(descriptor)
    yield descriptors
    for descriptor in descriptors:
        os.close(descriptor)


def _other_file_system(tmp_path: Path) -> Path:
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("needs /dev/shm on a file system of its own")
    return shm


def test_one_syncfs_covers_every_file_and_directory_of_a_file_system(tmp_path: Path, files: list[int]) -> None:
    calls = _SyncfsCalls()
    errors = SyncfsFlush(calls)(files, [tmp_path, tmp_path.parent])
    assert errors.files == [None, None, None] and errors.directories == [None, None]
    assert calls.devices == [tmp_path.stat().st_dev]


def test_each_file_system_gets_its_own_syncfs_and_its_own_errors(tmp_path: Path, files: list[int]) -> None:
    other = _other_file_system(tmp_path)
    calls = _SyncfsCalls(fail_device=other.stat().st_dev)
    errors = SyncfsFlush(calls)(files, [tmp_path, other])
    assert sorted(calls.devices) == sorted([tmp_path.stat().st_dev, other.stat().st_dev])
    assert errors.files == [None, None, None] and errors.directories[0] is None
    assert isinstance(errors.directories[1], OSError)  # only what sits on the failing file system


def test_a_failed_syncfs_fails_everything_on_its_file_system(tmp_path: Path, files: list[int]) -> None:
    errors = SyncfsFlush(_SyncfsCalls(fail_device=tmp_path.stat().st_dev))(files, [tmp_path])
    assert all(isinstance(error, OSError) for error in [*errors.files, *errors.directories])


def test_a_bad_descriptor_or_a_missing_directory_fails_only_itself(tmp_path: Path, files: list[int]) -> None:
    closed = os.open(tmp_path / "gone", os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(closed)
    errors = SyncfsFlush(_SyncfsCalls())([files[0], closed], [tmp_path, tmp_path / "missing"])
    assert errors.files[0] is None and isinstance(errors.files[1], OSError)
    assert errors.files[1].errno == errno.EBADF
    assert errors.directories[0] is None and isinstance(errors.directories[1], FileNotFoundError)


def test_directories_alone_are_flushed_through_the_directory(tmp_path: Path) -> None:
    calls = _SyncfsCalls()
    assert SyncfsFlush(calls)([], [tmp_path]).directories == [None]
    assert calls.devices == [tmp_path.stat().st_dev]


@pytest.mark.parametrize("method", FLUSH_METHODS)
def test_the_real_flushes_report_success(tmp_path: Path, files: list[int], method: str) -> None:
    flush = make_flush(method)
    assert flush.name == method  # this machine is Linux: syncfs(2) is there
    errors = flush(files, [tmp_path])
    assert errors.files == [None, None, None] and errors.directories == [None]


def test_fsync_flush_reports_each_failure(tmp_path: Path, files: list[int]) -> None:
    closed = os.open(tmp_path / "gone", os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(closed)
    errors = FsyncFlush()([files[0], closed, files[1]], [tmp_path / "missing"])
    assert errors.files[0] is None and errors.files[2] is None
    assert isinstance(errors.files[1], OSError) and errors.files[1].errno == errno.EBADF
    assert isinstance(errors.directories[0], FileNotFoundError)


def test_without_syncfs_the_flush_falls_back_to_fsync(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(flush_module, "_libc_syncfs", lambda: None)
    assert isinstance(make_flush("syncfs"), FsyncFlush)


def test_an_unknown_method_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown flush method 'never': one of syncfs, fsync"):
        make_flush("never")
