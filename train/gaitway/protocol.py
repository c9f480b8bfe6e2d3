"""Evaluation protocols: subject-grouped folds, parallel training jobs, and
mean +- spread over seeds.

Every split here is by subject: no subject ever has windows on both sides of
a train/validation or train/test boundary."""

import concurrent.futures as cf
import multiprocessing as mp
import os

import numpy as np


def subject_folds(subjects, k, seed=0):
    """k disjoint folds of the subjects (shuffled with seed), as sorted
    lists; sizes differ by at most one."""
    s = np.array(sorted(subjects))
    rng = np.random.default_rng(seed)
    rng.shuffle(s)
    return [sorted(s[i::k].tolist()) for i in range(k)]


def mean_sd(values):
    """(mean, sample standard deviation, n) of finite values."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], np.float64)
    if len(v) == 0:
        return float("nan"), float("nan"), 0
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0, len(v)


def fmt_pm(values, scale=100.0, digits=2):
    m, s, n = mean_sd(values)
    return "%.*f +- %.*f" % (digits, m * scale, digits, s * scale)


def default_jobs():
    """Parallel training processes: one per core (each runs one torch
    thread), at most 2 unless GAITWAY_TRAIN_JOBS says otherwise."""
    env = os.environ.get("GAITWAY_TRAIN_JOBS")
    if env:
        return max(1, int(env))
    return max(1, min(2, os.cpu_count() or 1))


_shared = None


def shared():
    """The object given to run_parallel(shared=...), in the workers too."""
    return _shared


def run_parallel(fn, jobs, n_jobs=None, shared=None):
    """Runs fn(*args) for every args tuple in jobs in n_jobs forked worker
    processes; returns the results in job order.  `shared` (large arrays)
    reaches the workers through fork, not through pickling: read it with
    protocol.shared()."""
    global _shared
    _shared = shared
    n_jobs = n_jobs or default_jobs()
    if n_jobs <= 1 or len(jobs) <= 1:
        return [fn(*a) for a in jobs]
    ctx = mp.get_context("fork")
    with cf.ProcessPoolExecutor(max_workers=n_jobs, mp_context=ctx) as ex:
        futs = [ex.submit(fn, *a) for a in jobs]
        return [f.result() for f in futs]
