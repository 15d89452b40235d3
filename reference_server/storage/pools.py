"""Process-wide thread pools for the store's blocking disk work, made on first use.

One pool per kind of work, shared by every store in the process, so that many stores (tests,
a server with several mail roots) do not each start threads of their own; a pool is made only
when its work first comes, so a process that never delivers starts none.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

_lock = threading.Lock()
_pools: dict[str, ThreadPoolExecutor] = {}


def shared_pool(name: str, threads: int) -> ThreadPoolExecutor:
    """The pool called `name` (threads named mail-<name>_N), made with `threads` workers the first time.

    Raises RuntimeError while the interpreter shuts down, as ThreadPoolExecutor.submit does then;
    callers do the work in their own thread instead.
    """
    with _lock:
        pool = _pools.get(name)
        if pool is None:
            pool = _pools[name] = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"mail-{name}")
        return pool
