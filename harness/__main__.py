"""`python -m harness` is `mailconform`."""

from harness.cli import main

raise SystemExit(main())
