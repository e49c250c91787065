"""Row kernels on threads: fixed blocks, partials in block order, the same bytes for any
number of threads; one thread per sweep worker."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import scenario
from numba import njit

from sim import kernels, threads
from sim.codes import (
    DEPARTED,
    DIMENSIONS,
    ELIGIBILITY,
    N_AGE,
    N_DIM,
    N_HOUSING,
    N_SERVICE,
    N_STATUS,
)
from sim.dim_sums import DimensionSums
from sim.runner import MUNICIPAL_TABLE, TOTALS_TABLE, process_pool, simulate

ROOT = Path(__file__).resolve().parents[1]


@njit(nogil=True)
def _take_blocks(work, seen, out):
    """A block kernel that records each block it takes and counts rows and blocks."""
    while True:
        b, lo, hi = kernels.next_block(work)
        if b < 0:
            return
        seen[b, 0], seen[b, 1], seen[b, 2] = lo, hi, seen[b, 2] + 1
        out[0] += hi - lo
        out[1] += 1


def test_blocks_cover_the_rows_once_whatever_the_thread_count(monkeypatch):
    monkeypatch.setattr(threads, "BLOCK", 10)
    for n_threads in (1, 2, 5):
        seen = np.zeros((10, 3), np.int64)
        out = np.array([7, 0])  # tallies are added into
        with threads.limit(n_threads):
            kernels._in_blocks(_take_blocks, 95, (seen,), out)
        assert seen.tolist() == [[10 * b, min(95, 10 * b + 10), 1] for b in range(10)]
        assert out.tolist() == [7 + 95, 10]
    assert [threads.n_blocks(n) for n in (0, 10, 11)] == [1, 1, 2]
    with pytest.raises(TypeError, match="integer tallies only"):
        kernels._in_blocks(_take_blocks, 95, (seen,), np.zeros(2))


def test_limit_is_per_thread_and_restored(monkeypatch):
    monkeypatch.setattr(threads, "_threads", 4)
    seen = {}
    with threads.limit(1):
        other = threading.Thread(target=lambda: seen.update(other=threads.threads()))
        other.start()
        other.join()
        assert threads.threads() == 1
    assert seen["other"] == 4
    assert threads.threads() == 4
    with pytest.raises(ValueError, match="threads: 0"):
        threads.set_threads(0)


def _worker_threads(_: int) -> tuple[int, int]:
    """The worker's thread count, and parts done on two threads (the pool forked along)."""
    n = threads.threads()
    threads.set_threads(2)
    done: list[int] = []
    try:
        threads.each_part(10, done.append)
        return n, len(done)
    finally:
        threads.set_threads(n)


def test_process_pool_workers_use_one_thread_and_survive_fork():
    # The parent has used its thread pool before forking: the children must not hang on it.
    with threads.limit(2):
        threads.each_part(10, lambda k: None)
    with process_pool(2) as pool:
        assert list(pool.map(_worker_threads, range(2), timeout=60)) == [(1, 10), (1, 10)]


_TALLIED = ("status", "housing", "muni", "origin", "employment", "svc_state", "svc_week",
            "arrival_week", "shelter_week", "age")
_INTEGRATION = kernels.IntegrationParams(0.01, 0.02, 0.05, 0.02, 0.5, 0.01, 0.5, 0.05, 0.5, 1.0,
                                         0.7, 0.5, 0.65, 0.85, 0.4, 0.1, 0.3)


def _population(n: int, n_muni: int, seed: int = 3):
    """A random migrant table with float dimensions that do not add up exactly."""
    rng = np.random.default_rng(seed)
    return dict(
        status=rng.integers(0, N_STATUS, n).astype(np.int8),
        housing=rng.integers(0, N_HOUSING, n).astype(np.int8),
        muni=rng.integers(0, n_muni, n).astype(np.int16),
        origin=rng.integers(0, n_muni, n).astype(np.int16),
        employment=rng.integers(0, 3, n).astype(np.int8),
        svc_state=rng.integers(0, 4, (n, 4)).astype(np.int8),
        svc_week=rng.integers(0, 20, (n, 4)).astype(np.int16),
        arrival_week=rng.integers(-50, 20, n).astype(np.int16),
        shelter_week=rng.integers(-1, 20, n).astype(np.int16),
        age=rng.integers(0, N_AGE, n).astype(np.int8),
        dims=rng.random((n, 5)).astype(np.float32),
        skill=rng.random(n).astype(np.float32),
    )


def _tally(pop: dict, n_muni: int) -> kernels.TallyOut:
    """Two weeks' tallies: everyone is settled in week 20 (three slices), a tenth of the
    people change housing, and week 21 settles them and the slice due."""
    pop = {k: v.copy() for k, v in pop.items()}
    n = len(pop["status"])
    columns = kernels.DimColumns(pop["dims"], np.zeros_like(pop["dims"]), np.zeros(n, np.int16),
                                 np.zeros(n, np.uint32), pop["skill"], pop["arrival_week"])
    rng = np.random.default_rng(5)
    eligibility = rng.integers(0, len(ELIGIBILITY), (n_muni, N_SERVICE, N_STATUS)).astype(np.int8)
    features = rng.random((n_muni, kernels.N_MF))
    tables = kernels.target_tables(_INTEGRATION, features, rng.random((n_muni, N_SERVICE)))
    sums = DimensionSums(3, n_muni, 0.05, np.full(N_DIM, 0.2))
    flags, kept = np.zeros(n, np.uint8), kernels.KeptCounts.empty(n_muni)
    for week in (20, 21):
        if week == 21:
            moved = (rng.random(n) < 0.1) & (pop["housing"] != DEPARTED)  # none comes back
            pop["housing"][moved] = rng.integers(0, N_HOUSING, moved.sum())
        settle = sums.settle(week, 0.05, np.full(N_DIM, 0.2), tables, n)
        out = kernels.TallyOut(
            np.zeros((n_muni, N_STATUS, N_HOUSING), np.int64),
            np.zeros((n_muni, N_SERVICE, 3), np.int64), np.zeros(N_STATUS, np.int64),
            np.zeros((n_muni, 12), np.int64), np.zeros((n_muni, 2), np.int64),
            np.zeros((n_muni, N_SERVICE, len(ELIGIBILITY)), np.int64), *sums.changes())
        p = kernels.TallyParams(week, 13, np.ones(N_STATUS, np.bool_), 260, eligibility, True,
                                settle)
        kernels.tally(*(pop[k] for k in _TALLIED), flags, columns, p, kept, out)
        tallied = kernels.TallyOut(*(a.copy() for a in out))  # ``take`` zeroes the changes
        sums.take(settle, kernels.SettleOut(*out[-4:]))
    return tallied


def test_tally_by_blocks_is_the_same_for_any_thread_count(monkeypatch):
    pop = _population(20_000, 3)
    whole = _tally(pop, 3)  # one block: every sum in row order, as before the blocks
    monkeypatch.setattr(threads, "BLOCK", 1000)
    by_threads = {}
    for n_threads in (1, 2, 3):
        with threads.limit(n_threads):
            by_threads[n_threads] = _tally(pop, 3)
    for a, b, c, w in zip(by_threads[1], by_threads[2], by_threads[3], whole, strict=True):
        assert a.tobytes() == b.tobytes() == c.tobytes()  # bit for bit
        np.testing.assert_allclose(a, w, rtol=1e-12)  # only the order of float sums differs
    counts = by_threads[2].counts
    assert counts.sum() == 20_000
    assert by_threads[2].status_count.sum() == (counts[..., :DEPARTED]).sum()
    # The block order is what makes the float sums reproducible: it is not the row order.
    assert by_threads[1].sums.tobytes() != whole.sums.tobytes()


def _run_in_subprocess(name: str, weeks: int, n_threads: int, block: int, out: Path) -> None:
    code = ("import sys; from sim import threads; threads.BLOCK = int(sys.argv[1]); "
            "from sim.cli import main; sys.exit(main(sys.argv[2:]))")
    env = dict(os.environ, NUMBA_NUM_THREADS=str(n_threads), PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-c", code, str(block), "run", f"scenarios/{name}.toml",
                    "--weeks", str(weeks), "--no-progress", "--out", str(out)],
                   cwd=ROOT, env=env, check=True, capture_output=True, timeout=600)


@pytest.mark.parametrize(("name", "weeks", "block"), [
    ("asylum_surge_shelter_cap", 52, 2048),  # claims board quota, shelter caps, overflow
    ("access_without_fear", 52, 2048),  # municipal hours for everyone: the services screens
    ("small_town_retention", 30, threads.BLOCK),  # > 65,536 rows from week 0: real blocks
])
def test_weekly_outputs_identical_with_one_and_two_threads(tmp_path, name, weeks, block):
    for n in (1, 2):
        _run_in_subprocess(name, weeks, n, block, tmp_path / f"t{n}")
    for table in (MUNICIPAL_TABLE, TOTALS_TABLE):
        one = (tmp_path / "t1" / table).read_bytes()
        assert one == (tmp_path / "t2" / table).read_bytes(), f"{name}: {table} differs"


def test_a_sweep_run_uses_one_thread(monkeypatch):
    """``run_one`` (every sweep executor runs it) caps the model at one thread."""
    import sim.runner
    from experiments.run import TINY, run_one

    seen = []

    def spy(scenario, **kwargs):
        seen.append(threads.threads())
        raise RuntimeError("stop here")

    monkeypatch.setattr(threads, "_threads", 2)
    monkeypatch.setattr(sim.runner, "simulate", spy)
    with pytest.raises(RuntimeError, match="stop here"):
        run_one({"scenario": TINY, "sets": {}, "seed": 1, "run_id": "r0"})
    assert seen == [1]
    assert threads.threads() == 2


def test_results_do_not_depend_on_the_thread_limit(monkeypatch):
    monkeypatch.setattr(threads, "BLOCK", 200)
    sc = scenario({"run": {"weeks": 30}})
    with threads.limit(2):
        threaded = simulate(sc)
    with threads.limit(1):
        single = simulate(sc)
    assert threaded.totals.equals(single.totals)
    assert threaded.municipalities.equals(single.municipalities)
    assert threaded.record["migrant_agents"] > 1000  # several blocks of 200 rows
    assert [threaded.record["threads"], single.record["threads"]] == [2, 1]


def test_results_do_not_depend_on_the_block_size_but_in_the_last_bits_of_the_dimensions(
        monkeypatch):
    """The job events' visits come in fixed streams of rows, not per block: the block size
    changes only the order in which the settled dimensions' float sums are added."""
    sc = scenario({"run": {"weeks": 30}})
    by_block = {}
    for block in (200, 2**40):
        monkeypatch.setattr(threads, "BLOCK", block)
        with threads.limit(1):
            by_block[block] = simulate(sc)
    small, whole = by_block[200], by_block[2**40]
    assert small.record["migrant_agents"] > 1000  # several blocks of 200 rows
    dims = [c for c in whole.totals.columns
            if c in ("integration_index", "cost_per_integration_point", *DIMENSIONS)
            or c.startswith("index_")]
    assert "integration_index" in dims
    other = [c for c in whole.totals.columns if c not in dims]
    assert small.totals[other].equals(whole.totals[other])
    np.testing.assert_allclose(small.totals[dims].to_numpy(float),
                               whole.totals[dims].to_numpy(float), rtol=1e-12)


def test_threads_option_of_reception_run(tmp_path, monkeypatch):
    import json

    from sim.cli import main
    from sim.outdir import RUN_RECORD

    monkeypatch.setattr(threads, "_threads", 2)  # restored after the test
    assert main(["run", str(ROOT / "scenarios" / "classroom.toml"), "--weeks", "2",
                 "--threads", "1", "--no-progress", "--out", str(tmp_path / "o")]) == 0
    assert json.loads((tmp_path / "o" / RUN_RECORD).read_text())["threads"] == 1
    with pytest.raises(ValueError, match="threads: 0 is not"):
        main(["run", "--threads", "0", "--out", str(tmp_path / "p")])


def test_row_buffer_is_the_same_memory_each_week_per_thread_and_name():
    from sim.kernels.base import row_buffer

    first = row_buffer("test list", 5000)
    assert first.dtype == np.uint32 and first.shape == (5000,)
    first[:3] = (7, 8, 9)
    again = row_buffer("test list", 4000)  # a smaller week: the same memory, not a copy
    assert np.shares_memory(first, again) and again.shape == (4000,)
    assert list(again[:3]) == [7, 8, 9]
    assert not np.shares_memory(first, row_buffer("other list", 5000))
    bigger = row_buffer("test list", 9000)  # grown: new memory of the new size
    assert bigger.shape == (9000,) and not np.shares_memory(first, bigger)
    elsewhere = {}
    t = threading.Thread(target=lambda: elsewhere.update(room=row_buffer("test list", 9000)))
    t.start()
    t.join()
    assert not np.shares_memory(bigger, elsewhere["room"])  # threads never share one
    with pytest.raises(ValueError, match="below 2\\*\\*32"):
        row_buffer("test list", 2**32)
