"""Starting and stopping a third-party target (targets/NAME/start|stop) from a test.

The target tests run the scripts for real — apt-get install on first use, then the servers on
free loopback ports — because the point of an external target is that it works on the
machine, not that a mock of it does. Where the machine cannot do that (not root, no apt-get,
install failed) they skip with the reason; under CI, which runs as root, that is a failure
instead: CI must always exercise the targets.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final, NoReturn

import pytest

TARGETS: Final = Path(__file__).resolve().parents[2] / "targets"
CANNOT_INSTALL: Final = 3  # start's exit status when the software cannot be installed here
START_TIMEOUT: Final = 900.0  # the first start runs apt-get
STOP_TIMEOUT: Final = 60.0
SOCKET_TIMEOUT: Final = 10.0
# The servers run unprivileged and must be able to walk into the instance directory; /tmp is
# world-searchable, pytest's tmp_path (under a 0700 folder) is not.
INSTANCE_PARENT: Final = "/tmp"


@dataclass(frozen=True)
class TargetScripts:
    """targets/<folder>/start and stop, and what the target needs from the machine."""

    name: str  # "Postfix", as the messages say it
    folder: str  # under targets/
    binary: str  # installed already if this exists
    why_root: str  # why it needs root, for the skip message

    def unavailable_reason(self) -> str | None:
        if os.geteuid() != 0:
            return f"the {self.name} target needs root ({self.why_root}; CI runs as root)"
        if shutil.which("apt-get") is None and not Path(self.binary).exists():
            return f"no apt-get and no {self.binary}: {self.name} cannot be installed here"
        return None

    def skip_or_fail(self, reason: str) -> NoReturn:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the {self.name} target, but: {reason}")
        pytest.skip(reason)

    def start(self, root: Path, ports: Mapping[str, int]) -> subprocess.CompletedProcess[str]:
        """Run start with the port variables (e.g. POSTFIX_SMTP_PORT) set."""
        env = dict(os.environ, **{variable: str(port) for variable, port in ports.items()})
        return subprocess.run(
            [str(TARGETS / self.folder / "start"), str(root)],
            env=env,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT,
            check=False,
        )

    def stop(self, root: Path) -> subprocess.CompletedProcess[str]:
        command = [str(TARGETS / self.folder / "stop"), str(root)]
        return subprocess.run(command, capture_output=True, text=True, timeout=STOP_TIMEOUT, check=False)


@contextmanager
def running_instance(scripts: TargetScripts, ports: Mapping[str, int]) -> Iterator[Path]:
    """A fresh instance directory with the target started in it; stopped and removed afterwards.

    Skips (or fails under CI) where the target cannot run. After the block, stop must succeed
    and leave none of `ports` answering.
    """
    reason = scripts.unavailable_reason()
    if reason is not None:
        scripts.skip_or_fail(reason)
    root = Path(tempfile.mkdtemp(prefix=f"mailconform-{scripts.folder}-", dir=INSTANCE_PARENT))
    try:
        result = scripts.start(root, ports)
        if result.returncode == CANNOT_INSTALL:
            fallback = f"targets/{scripts.folder}/start cannot install {scripts.name} here"
            scripts.skip_or_fail(_last_line(result.stderr) or fallback)
        assert result.returncode == 0, f"start exited {result.returncode}:\n{result.stdout}{result.stderr}"
        yield root
    finally:
        stopped = scripts.stop(root)
        answering = [port for port in ports.values() if not refuses_connections(port)]
        shutil.rmtree(root, ignore_errors=True)
    assert stopped.returncode == 0, f"stop exited {stopped.returncode}: {stopped.stderr}"
    assert not answering, f"stop left ports answering: {answering}"


def free_ports(count: int) -> list[int]:
    """Ports the kernel just handed out, so parallel workers do not pick the same ones."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def refuses_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT):
            return False
    except ConnectionRefusedError:
        return True


def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else ""
