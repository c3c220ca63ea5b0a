import logging
import os

import pytest
import torch

from common.errors import ConfigError
from common.parallel import WorkerDied, map_by_threads, worker_pool
from common.threads import intra_op_threads
from tests.common._pool_jobs import crash, describe, describe_timed, square_sum


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


def test_map_by_threads_runs_the_jobs_of_more_threads_beside_the_one_thread_jobs_in_workers_of_their_own():
    threads = torch.get_num_threads()
    counts = [1, 2, 1, 3, 1, 2]
    with worker_pool(2) as run:
        results = map_by_threads(run, describe_timed, [(tag, 1.5) for tag in "abcdef"], counts)
    assert [r[0] for r in results] == list("abcdef")
    single = [r for r, n in zip(results, counts) if n == 1]
    multi = {n: [r for r, m in zip(results, counts) if m == n] for n in (2, 3)}
    assert os.getpid() not in {r[1] for r in single} and {r[2] for r in single} == {1}
    assert {r[5] for r in single} == {None}  # the one-thread workers keep the default wait policy
    for n, jobs in multi.items():  # one worker per thread count, its jobs one after another, threads sleeping
        assert {(r[2], r[5]) for r in jobs} == {(n, "PASSIVE")} and len({r[1] for r in jobs}) == 1
        assert jobs[0][1] not in {os.getpid()} | {r[1] for r in single}
    assert multi[2][1][3] >= multi[2][0][4]
    assert min(r[3] for r in multi[2]) < max(r[4] for r in single)  # beside the one-thread jobs, not after
    assert torch.get_num_threads() == threads and "OMP_WAIT_POLICY" not in os.environ


def test_a_job_gives_the_same_result_on_its_threads_wherever_it_runs():
    """The thread count sets the float order (1 and 2 threads differ), not the process or its wait policy."""
    with intra_op_threads(2):
        here = square_sum(0)
    with intra_op_threads(1):
        one = square_sum(0)
    assert one != here
    with worker_pool(2) as run:
        assert map_by_threads(run, square_sum, [(0,), (0,)], [2, 1]) == [here, one]
    assert map_by_threads(map, square_sum, [(0,)], [2]) == [here]


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
