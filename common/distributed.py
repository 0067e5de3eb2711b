"""Running the grid on a dask.distributed cluster (``--scheduler tcp://HOST:8786``).

Each run is one dask task calling the same :func:`common.execution.execute_run` as a local run; the
worker returns the run's arrays and metadata and the client writes them, so results need no shared
filesystem. A worker that dies mid-run loses only its task: the scheduler reschedules it on another
worker (up to ``distributed.scheduler.allowed-failures`` deaths, then the run is reported failed),
and the result is the same because a run depends on its configuration alone. A run that fails for a
reason of its own comes back as an error message, tagged with the worker's address.

The scheduler and the workers must be able to import this project (start them in its environment
with the project root on ``PYTHONPATH``: the scheduler unpickles the tasks too), and the workers
read the data from their own data directory.
This module imports dask; nothing imports it unless ``--scheduler`` is given.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Iterator, Optional

from distributed import Client, as_completed, get_worker

from common.execution import RunOutcome, RunSpec, UsageError, execute_run


def execute_on_worker(spec: RunSpec, data_dir: Optional[Path], results_dir: Path, resume: bool) -> RunOutcome:
    """:func:`execute_run` on a dask worker; the outcome also names the worker."""
    outcome = execute_run(spec, data_dir, results_dir, resume)
    outcome.worker = get_worker().address
    return outcome


def cluster_outcomes(
    scheduler: str,
    specs: list[RunSpec],
    data_dir: Optional[Path],
    results_dir: Path,
    resume: bool,
) -> Iterator[RunOutcome]:
    """Submit every spec to the cluster at ``scheduler``; yields outcomes as runs finish.

    Connects and submits before returning, so an unreachable scheduler is reported at once.
    Checkpoints go to ``results_dir`` as an absolute path on the worker (see common.checkpoint).
    """
    try:
        client = Client(scheduler, set_as_default=False)
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot reach the dask scheduler at {scheduler}: {error}") from None
    results_dir = Path(results_dir).absolute()
    futures = {
        client.submit(execute_on_worker, spec, data_dir, results_dir, resume, key=_task_key(spec), pure=False): spec
        for spec in specs
    }
    return _gather(client, futures)


def _gather(client: Client, futures: dict) -> Iterator[RunOutcome]:
    try:
        for future in as_completed(futures, loop=client.loop):
            if future.status == "finished":
                outcome = future.result()
            else:  # the task itself failed: its workers died too often, or the run could not be loaded
                error = future.exception()
                message = " ".join(str(error).split())  # one line
                outcome = RunOutcome(futures[future], error=f"{type(error).__name__}: {message}")
            future.release()
            yield outcome
    finally:
        client.close()  # also cancels whatever is still pending (an interrupted client)


def _task_key(spec: RunSpec) -> str:
    """A readable key, unique per submission so that no earlier result of the same name is reused."""
    variant = "".join(f"-{part}" for part in spec.variant)
    return f"run-{spec.benchmark.name}-{spec.model}-{spec.method.name}{variant}-seed{spec.seed}-{uuid.uuid4().hex[:8]}"
