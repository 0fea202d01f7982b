"""The two engines that run a job's batches: a local process pool (default; no Ray needed) and Ray Data. Both take
the same batches, formed once by the driver, and yield each batch's manifest rows as it finishes, so the two
engines compute exactly the same thing and the driver records results the moment they exist.

Ray is imported only inside ``ray_engine``.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass

from core.batch.jobs import Task, problem

ENGINES = ("local", "ray")
ACTOR_START_TIMEOUT_S = 600  # a pool larger than the cluster can hold fails after this long, with Ray's reason
FORWARDED_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")  # besides every HIDESEEK_* variable


@dataclass(frozen=True)
class EngineOptions:
    """Where and how wide a batch runs; the Ray fields apply to ``engine="ray"`` only."""

    engine: str = "local"
    workers: int | None = None  # default: as many as the cores (local) or the cluster's CPUs (Ray) allow
    batch_size: int | None = None  # inputs per task; default: the job's
    address: str | None = None  # Ray: an existing cluster; None starts a local instance for the run
    cpus_per_worker: float = 1.0
    gpus_per_worker: float = 0.0

    def local_workers(self) -> int:
        return self.workers or max(1, int(machine_cores() // self.cpus_per_worker))

    def run(self, job, batches: list[list[Task]]) -> Iterator[list[dict]]:
        """Each batch's rows, as batches finish (in any order)."""
        if not batches:
            return iter(())
        if self.engine == "ray":
            return ray_engine(job, batches, self)
        workers = self.local_workers()
        threads = max(1, machine_cores() // workers)  # as a Ray actor holding cores // workers CPUs
        return local_engine(job, batches, min(workers, len(batches)), threads)


def machine_cores() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0))


def _start_worker(job, threads: int) -> None:
    """A pool worker's start: its share of the cores as torch threads, and the job's models loaded once."""
    import torch

    torch.set_num_threads(threads)
    job.prepare()


def _run_batch(job, tasks: list[Task]) -> list[dict]:
    return job.process(tasks, f"local/{os.getpid()}")


def local_engine(job, batches: list[list[Task]], workers: int, threads: int) -> Iterator[list[dict]]:
    """Run ``batches`` on ``workers`` spawned processes with ``threads`` torch threads each, at most two batches per
    worker in flight. When a worker dies (killed for memory, a crash in native code) the pool breaks and takes every
    batch in flight with it; those are run again one at a time in a fresh pool, so only a batch that kills a worker
    on its own is failed, and the rest go on."""
    queue, suspects = deque(batches), deque()
    while queue or suspects:
        context = multiprocessing.get_context("spawn")  # forking a process that holds torch threads can deadlock
        with ProcessPoolExecutor(
            workers, mp_context=context, initializer=_start_worker, initargs=(job, threads)
        ) as pool:
            if suspects:
                yield from _isolate(pool, job, suspects)
            if not suspects:
                suspects.extend((yield from _drain(pool, job, queue, 2 * workers)))


def _drain(pool: ProcessPoolExecutor, job, queue: deque, limit: int) -> Iterator[list[dict]]:
    """Run the queue; the batches that were in flight when the pool broke (none when it did not)."""
    running: dict[Future, list[Task]] = {}
    while queue or running:
        while queue and len(running) < limit:
            tasks = queue.popleft()
            running[pool.submit(_run_batch, job, tasks)] = tasks
        finished, _ = wait(running, return_when=FIRST_COMPLETED)
        if any(isinstance(future.exception(), BrokenProcessPool) for future in finished):
            return list(running.values())
        for future in finished:
            yield future.result()
            del running[future]
    return []


def _isolate(pool: ProcessPoolExecutor, job, suspects: deque) -> Iterator[list[dict]]:
    """Run suspect batches one at a time until one breaks the pool: that one is failed, with the reason."""
    while suspects:
        tasks = suspects.popleft()
        try:
            yield pool.submit(_run_batch, job, tasks).result()
        except BrokenProcessPool as err:
            reason = f"the worker process died on this batch ({err}); a re-run retries it"
            yield [{"input": task.name, **problem("failed", reason)} for task in tasks]
            return


class RayWorker:
    """One Ray Data actor: loads the job's models once, then runs the batches it is handed."""

    def __init__(self, job, threads: int) -> None:
        import ray

        _start_worker(job, threads)
        self.job = job
        self.name = f"{ray.get_runtime_context().get_node_id()[:12]}/{os.getpid()}"

    def __call__(self, batch: dict) -> dict:
        import numpy as np

        rows = [
            json.dumps(self.job.process([Task(**task) for task in json.loads(text)], self.name))
            for text in batch["tasks"]
        ]
        return {"rows": np.array(rows, dtype=object)}


def ray_engine(job, batches: list[list[Task]], options: EngineOptions) -> Iterator[list[dict]]:
    """Run ``batches`` with Ray Data: the batch list is a dataset, ``map_batches`` runs it on a pool of RayWorker
    actors (``options.workers`` of them, default as many as the cluster's CPUs allow), each holding
    ``cpus_per_worker`` CPUs and ``gpus_per_worker`` GPUs. Connects to the cluster at ``options.address``; without
    one, starts a local Ray instance on this machine's cores and shuts it down at the end."""
    import ray
    import ray.data

    logging.getLogger("ray.data").setLevel(logging.WARNING)  # its per-dataset INFO lines; the driver has its bar
    env = {key: value for key, value in os.environ.items() if key.startswith("HIDESEEK_") or key in FORWARDED_ENV}
    ray.init(
        address=options.address,
        num_cpus=None if options.address else machine_cores(),
        include_dashboard=False,
        log_to_driver=False,
        logging_level="warning",
        runtime_env={"env_vars": env},
    )
    try:
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # the driver draws one bar for both engines
        context.enable_operator_progress_bars = False
        context.wait_for_min_actors_s = ACTOR_START_TIMEOUT_S  # every actor holds its models before work is handed out
        cpus = options.cpus_per_worker
        size = options.workers or max(1, int(ray.cluster_resources().get("CPU", 1) // cpus))
        dataset = ray.data.from_items(
            [{"tasks": json.dumps([asdict(task) for task in tasks])} for tasks in batches],
            override_num_blocks=len(batches),
        )
        results = dataset.map_batches(
            RayWorker,
            fn_constructor_kwargs={"job": job, "threads": max(1, int(cpus))},
            batch_size=1,  # one row is one batch of tasks, formed by the driver exactly as for the local engine
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=min(size, len(batches)), max_tasks_in_flight_per_actor=1),
            num_cpus=cpus,
            num_gpus=options.gpus_per_worker or None,
        )
        for batch in results.iter_batches(batch_size=1, batch_format="numpy", prefetch_batches=0):
            for text in batch["rows"]:
                yield json.loads(text)
    finally:
        ray.shutdown()
