"""Run a policy's verification jobs (one per constraint, and the rule warnings) on every core.

The jobs share nothing: each builds its own z3 terms and solver, so they run in forked worker
processes, which inherit the loaded policy (nothing is pickled but the verdicts coming back) and
judge the same `Deadline`s (`time.perf_counter` is the system's monotonic clock, one for every
process). Where `fork` is not available, or one core or one job, they run one after another in
this process; the verdicts are the same either way, in the same order.

`ECRULES_VERIFY_WORKERS=1` forces the serial path (e.g. under a debugger).
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, Sequence

#: the jobs of the run in progress, inherited by the forked workers
_JOBS: Sequence[Callable[[], Any]] = ()


def _run(k: int) -> Any:
    return _JOBS[k]()


def workers(jobs: int) -> int:
    """How many processes to use for `jobs` independent jobs."""
    configured = os.environ.get("ECRULES_VERIFY_WORKERS", "")
    limit = int(configured) if configured.isdigit() and int(configured) > 0 else (os.cpu_count() or 1)
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(limit, jobs))


def run_all(jobs: Sequence[Callable[[], Any]]) -> list[Any]:
    """Each job's result, in order; on several cores when that helps."""
    n = workers(len(jobs))
    if n <= 1:
        return [job() for job in jobs]
    global _JOBS
    _JOBS = jobs
    try:
        with ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("fork")) as pool:
            return list(pool.map(_run, range(len(jobs))))
    finally:
        _JOBS = ()
