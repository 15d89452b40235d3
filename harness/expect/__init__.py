"""Per-protocol meaning of `S:` lines: parse (at collection) and judge (at run time)."""
