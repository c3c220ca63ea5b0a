import logging
import os

import pytest
import torch

from common.errors import ConfigError
from common.parallel import WorkerDied, map_by_threads, worker_pool
from tests.common._pool_jobs import crash, describe, describe_timed


def test_worker_pool_runs_jobs_in_other_processes_in_order_on_one_thread_each(capfd, caplog):
    caplog.set_level(logging.INFO)  # as the command line does: the workers log at this process's level
    with worker_pool(2) as run:
        results = list(run(describe, ["a", "b", "c", "d"]))
    assert [tag for tag, _, _ in results] == ["a", "b", "c", "d"]
    assert os.getpid() not in {pid for _, pid, _ in results}
    assert {threads for _, _, threads in results} == {1}
    err = capfd.readouterr().err
    assert "INFO da_vae.job: job a ran" in err  # the project's own INFO logs are kept ...
    assert "lightning chatter" not in err  # ... library INFO noise is not (log_level=warning)


def test_worker_pool_passes_the_log_level_to_the_workers(capfd):
    with worker_pool(2, log_level="info") as run:
        list(run(describe, ["x", "y"]))
    assert "lightning chatter x" in capfd.readouterr().err


def test_one_worker_runs_in_this_process_untouched():
    threads = torch.get_num_threads()
    with worker_pool(1) as run:
        assert run is map
        assert list(run(describe, ["a"])) == [("a", os.getpid(), threads)]


def test_map_by_threads_runs_each_thread_count_in_turn_larger_ones_side_by_side_in_rounds_of_the_workers(tmp_path):
    """Two-thread jobs share the workers in full rounds (idle threads sleeping: the round's two jobs wait for each
    other, which only jobs running side by side can do); the one left over, and a count with one job, run alone in
    this process (idle threads spinning)."""
    threads = torch.get_num_threads()
    counts = [1, 2, 1, 2, 3, 1, 2]
    meet = {"b": (str(tmp_path), 1), "d": (str(tmp_path), 1)}
    with worker_pool(2) as run:
        results = map_by_threads(run, describe_timed, [(tag, *meet.get(tag, (None, 0))) for tag in "abcdefg"],
                                 counts, workers=2)
    assert [r[0] for r in results] == list("abcdefg")
    single, (b, d, g), (e,) = ([r for r, c in zip(results, counts) if c == n] for n in (1, 2, 3))
    assert os.getpid() not in {r[1] for r in single + [b, d]} and len({b[1], d[1]}) == 2
    assert [(r[1], r[2], r[5]) for r in (g, e)] == [(os.getpid(), 2, None), (os.getpid(), 3, None)]
    assert {r[2] for r in single} == {1} and {(r[2], r[5]) for r in (b, d)} == {(2, "PASSIVE")}
    assert {r[5] for r in single} == {None}
    assert max(b[3], d[3]) < min(b[4], d[4])  # the round of two at the same time
    assert min(b[3], d[3]) >= max(r[4] for r in single)  # one thread count at a time
    assert g[3] >= max(b[4], d[4]) and e[3] >= g[4]
    assert torch.get_num_threads() == threads and "OMP_WAIT_POLICY" not in os.environ


@pytest.mark.parametrize("workers, side_by_side", [(1, True), (2, False)])
def test_map_by_threads_with_one_worker_or_not_side_by_side_runs_larger_counts_here_one_at_a_time(workers,
                                                                                                   side_by_side):
    threads = torch.get_num_threads()
    results = map_by_threads(map, describe_timed, [("a",), ("b",)], [2, 2], workers=workers,
                             side_by_side=side_by_side)
    assert [(r[1], r[2]) for r in results] == [(os.getpid(), 2), (os.getpid(), 2)]
    assert results[1][3] >= results[0][4]
    assert torch.get_num_threads() == threads


def test_map_by_threads_needs_one_thread_count_per_job():
    with pytest.raises(ValueError, match="2 jobs but 1 thread counts"):
        map_by_threads(map, describe, [("a",), ("b",)], [1])


def test_a_negative_worker_count_names_the_key():
    with pytest.raises(ConfigError, match=r"eval\.workers=-1"), worker_pool(-1):
        pass


def test_a_crashed_worker_says_how_to_rerun_the_jobs_in_this_process():
    with pytest.raises(WorkerDied, match=r"rerun with eval\.workers=0 .* '\*\.nb\[ci\]' -delete"):
        with worker_pool(2) as run:
            list(run(crash, [0, 1]))


@pytest.mark.parametrize("job", ["sleep_and_report", "ignore_sigterm_and_sleep"])
def test_workers_die_with_the_process_that_started_them(tmp_path, job):
    """A killed eval leaves no worker training on: SIGTERM to the parent ends its pool's processes too, also
    a job that handles SIGTERM itself."""
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    pid_file = tmp_path / "worker.pid"
    code = (f"from common.parallel import worker_pool\nfrom tests.common._pool_jobs import {job}\n"
            f"with worker_pool(2) as run:\n    list(run({job}, [{str(pid_file)!r}]))\n")
    repo = Path(__file__).resolve().parents[2]
    parent = subprocess.Popen([sys.executable, "-c", code], cwd=repo, env={**os.environ, "PYTHONPATH": str(repo)})
    deadline = time.monotonic() + 120
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    worker = int(pid_file.read_text())
    parent.send_signal(signal.SIGTERM)
    parent.wait(timeout=30)
    for _ in range(100):
        if not Path(f"/proc/{worker}").exists() or "Z" in Path(f"/proc/{worker}/stat").read_text().split()[2]:
            return
        time.sleep(0.1)
    os.kill(worker, signal.SIGKILL)
    raise AssertionError(f"worker {worker} outlived its parent")
