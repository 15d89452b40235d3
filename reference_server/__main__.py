"""`python -m reference_server serve|faults|hash-password [options]`."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from reference_server.main import faults_main, hash_password_main, serve_main

COMMANDS: dict[str, Callable[[Sequence[str] | None], int]] = {
    "serve": serve_main,
    "faults": faults_main,
    "hash-password": hash_password_main,
}


def main(argv: Sequence[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: python -m reference_server {{{','.join(COMMANDS)}}} [options]", file=sys.stderr)
        return 2
    return COMMANDS[argv[0]](list(argv[1:]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
