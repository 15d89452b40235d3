"""`mailconform`: check a server, serve the reference server, list its faults.

`check` is a thin layer over pytest: it picks the suites, points the plugin at the
target and the report directory, and passes anything after `--` to pytest untouched,
so every pytest and xdist option keeps working.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parent.parent
SUITES: Final = ROOT / "suites"
SUITE_NAMES: Final = ("smtp", "pop3", "imap", "mime")
ENDPOINT_SUITES: Final = {"smtp": "smtp", "submission": "smtp", "pop3": "pop3", "imap": "imap"}


def check_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mailconform check",
        description="Run the conformance suites against the reference server (default) or your server.",
        epilog="Arguments after -- go to pytest unchanged (e.g. -- -k 5321 -x).",
    )
    for protocol in ("smtp", "submission", "pop3", "imap"):
        parser.add_argument(f"--{protocol}", metavar="HOST:PORT", help=f"external {protocol} endpoint")
    parser.add_argument("--tls", choices=("plain", "starttls", "implicit"), help="how to reach external endpoints")
    parser.add_argument("--target-file", metavar="TOML", help="accounts, domains, CA file, capability overrides")
    parser.add_argument(
        "--suite",
        default=None,
        metavar="LIST",
        help=f"comma-separated suites to run ({', '.join(SUITE_NAMES)}); default: all that apply",
    )
    parser.add_argument(
        "--spec",
        action="append",
        default=[],
        metavar="PREFIX",
        help="only cases under this protocol/rfcN/section prefix (repeatable)",
    )
    parser.add_argument("--report-dir", default="reports", metavar="DIR", help="where reports go (default reports/)")
    parser.add_argument("--strict", action="store_true", help="SHOULD-level failures fail the run too")
    parser.add_argument("--baseline", metavar="JSON", help="known deviations of this target")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME",
        help="run the reference server with a deliberate defect (repeatable)",
    )
    parser.add_argument("-n", "--workers", default="auto", help="pytest-xdist workers (default auto; 0 = serial)")
    parser.add_argument("--step-timeout", type=float, metavar="SECONDS", help="per-step reply timeout")
    return parser


def select_suites(requested: str | None, external: Sequence[str]) -> list[str]:
    """`--suite a,b` as given; else the suites the external endpoints can run; else all.

    The MIME suite sends through SMTP and reads back over POP3, so an external run needs both.
    """
    if requested:
        suites = [s.strip() for s in requested.split(",") if s.strip()]
        unknown = [s for s in suites if s not in SUITE_NAMES]
        if unknown:
            raise ValueError(f"unknown suite {unknown[0]!r}; known: {', '.join(SUITE_NAMES)}")
        return suites
    if external:
        suites = sorted({ENDPOINT_SUITES[p] for p in external})
        if "pop3" in external and {"smtp", "submission"} & set(external):
            suites.append("mime")
        return suites
    return list(SUITE_NAMES)


def check_main(argv: Sequence[str]) -> int:
    args_list = list(argv)
    extra: list[str] = []
    if "--" in args_list:
        cut = args_list.index("--")
        args_list, extra = args_list[:cut], args_list[cut + 1 :]
    args = check_parser().parse_args(args_list)
    external = [p for p in ("smtp", "submission", "pop3", "imap") if getattr(args, p)]
    try:
        suites = select_suites(args.suite, external)
    except ValueError as exc:
        print(f"mailconform check: {exc}", file=sys.stderr)
        return 2
    paths = [str(SUITES / s) for s in suites if (SUITES / s).is_dir()]
    if not paths:
        print(f"mailconform check: no suites to run among {', '.join(suites)}", file=sys.stderr)
        return 2
    report_dir = Path(args.report_dir).resolve()
    pytest_args = [
        *paths,
        f"--rootdir={ROOT}",
        "-p",
        "no:cacheprovider",
        f"--junitxml={report_dir / 'junit.xml'}",
        f"--alluredir={report_dir / 'allure-results'}",
        "--clean-alluredir",
        f"--report-dir={report_dir}",
        "-q",
        "-o",
        "junit_family=xunit2",
        "-o",
        "console_output_style=classic",
    ]
    if args.workers not in ("0", "1"):
        pytest_args += ["-n", args.workers, "--dist", "loadgroup"]  # an external target's relay cases: one worker
    for protocol in external:
        pytest_args.append(f"--{protocol}={getattr(args, protocol)}")
    for option in ("tls", "target_file", "baseline", "step_timeout"):
        value = getattr(args, option)
        if value is not None:
            pytest_args.append(f"--{option.replace('_', '-')}={value}")
    if args.strict:
        pytest_args.append("--strict-levels")
    pytest_args += [f"--spec={s}" for s in args.spec] + [f"--fault={f}" for f in args.fault]
    import pytest

    code = pytest.main([*pytest_args, *extra])
    return int(code)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = "check, serve, faults, queue, mail, lint"
    if not argv or argv[0] in ("-h", "--help"):
        print(
            f"usage: mailconform {{{commands}}} ...\n\n"
            "  check   run the conformance suites (reference server by default, or --smtp HOST:PORT ...)\n"
            "  serve   run the reference mail server in the foreground\n"
            "  faults  list the reference server's deliberate defects and the clauses they break\n"
            "  queue   list the reference server's outgoing queue (--flush: retry now)\n"
            "  mail    a small user agent: send over submission, list and read over POP3\n"
            "  lint    check a message against RFC 5322 and MIME (RFC 2045-2049)"
        )
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "check":
        return check_main(rest)
    if command == "serve":
        from reference_server.main import serve_main

        return int(serve_main(rest))
    if command == "faults":
        from reference_server.main import faults_main

        return int(faults_main(rest))
    if command == "queue":
        from reference_server.queue.cli import queue_main

        return int(queue_main(rest))
    if command == "mail":
        from reference_server.useragent.cli import mail_main

        return int(mail_main(rest))
    if command == "lint":
        from harness.mime.lint_cli import lint_main

        return int(lint_main(rest))
    print(f"mailconform: unknown command {command!r}; use one of {commands}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
