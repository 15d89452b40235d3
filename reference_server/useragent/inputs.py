"""Reading what the user hands the agent: the password, the body, the HTML, the files.

Each source has one failure mode with one clear line, and none of them echoes a password.
The password comes from a file, the environment, or a prompt on the terminal, in that
order; a prompt is only attempted when there is a terminal to ask on, so a script never
hangs waiting for input nobody will type.
"""

from __future__ import annotations

import getpass
import os
import shlex
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Final, TextIO

from reference_server.useragent.compose import Attachment
from reference_server.useragent.errors import UsageError, UserAgentError

PASSWORD_ENV: Final = "MAILCONFORM_PASSWORD"
DEFAULT_EDITOR: Final = "vi"


def _read_bytes(path: Path, flag: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{flag}: no such file: {path}") from None
    except IsADirectoryError:
        raise UsageError(f"{flag}: {path} is a directory") from None
    except OSError as exc:
        raise UsageError(f"{flag}: cannot read {path}: {exc.strerror or exc}") from None


def _read_text(path: Path, flag: str) -> str:
    try:
        return _read_bytes(path, flag).decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{flag}: {path} is not UTF-8 text") from None


def password(login: str, password_file: Path | None, environ: Mapping[str, str] | None = None) -> str:
    """--password-file (its first line), else $MAILCONFORM_PASSWORD, else a prompt on the terminal."""
    if password_file is not None:
        lines = _read_text(password_file, "--password-file").splitlines()
        if not lines or not lines[0]:
            raise UsageError(f"--password-file: {password_file} is empty")
        return lines[0]
    env = os.environ if environ is None else environ
    if PASSWORD_ENV in env:
        return env[PASSWORD_ENV]
    try:
        with open("/dev/tty"):  # getpass reads from the controlling terminal; is there one?
            pass
    except OSError:
        raise UsageError(
            f"no password for {login}: give --password-file FILE or set {PASSWORD_ENV} (no terminal to ask on)"
        ) from None
    try:
        return getpass.getpass(f"password for {login}: ")
    except EOFError:
        raise UsageError(f"no password for {login}: input ended") from None


def body_from_file(path: Path) -> str:
    return _read_text(path, "--body-file")


def body_from_stream(stream: TextIO) -> str:
    """The body piped on stdin, as UTF-8."""
    data = stream.buffer.read() if hasattr(stream, "buffer") else stream.read().encode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError("stdin is not UTF-8 text") from None


def body_from_editor(environ: Mapping[str, str] | None = None, initial: str = "") -> str:
    """Open $VISUAL or $EDITOR (else vi) on a temporary file and return what was saved there."""
    env = os.environ if environ is None else environ
    command = env.get("VISUAL") or env.get("EDITOR") or DEFAULT_EDITOR
    try:
        argv = shlex.split(command)
    except ValueError:
        raise UsageError(f"cannot parse the editor command {command!r}") from None
    if not argv:
        raise UsageError("the editor command is empty (set VISUAL or EDITOR)")
    fd, name = tempfile.mkstemp(prefix="mailconform-", suffix=".txt")
    path = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as draft:
            draft.write(initial)
        try:
            done = subprocess.run([*argv, str(path)], check=False)
        except OSError as exc:
            raise UsageError(f"cannot run the editor {argv[0]!r}: {exc.strerror or exc}") from None
        if done.returncode != 0:
            raise UserAgentError(f"the editor {argv[0]!r} exited with status {done.returncode}; nothing sent")
        text = _read_text(path, "the edited message")
    finally:
        path.unlink(missing_ok=True)
    if not text.strip():
        raise UsageError("the edited message is empty; nothing sent")
    return text


def html_from(value: str) -> str:
    """--html takes a file name or the HTML itself; a name of a missing file is an error, not HTML."""
    path = Path(value)
    if "<" not in value and "\n" not in value:
        return _read_text(path, "--html")
    return value


def attachment(path: Path) -> Attachment:
    return Attachment(filename=path.name, data=_read_bytes(path, "--attach"))
