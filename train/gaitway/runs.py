"""The steps the activity models' training commands share: candidate
configurations cross-validated by subject, augmentation from a
configuration, INT8 calibration windows, and the shipped seed copied to
models/.  Each command (train/train_uci.py, train/train_pocket.py) keeps
only what is its own: data, windows, candidates and report."""

import json
import os
import shutil
import time

import numpy as np

from . import fit, protocol


def log(*a):
    print(*a, flush=True)


def work_dirs(root, name):
    """(cache, work): the training cache under build-cache/ and the model's
    own directory in it (reports, seed models)."""
    cache = os.path.join(root, "build-cache", "train")
    work = os.path.join(cache, name)
    os.makedirs(work, exist_ok=True)
    return cache, work


def make_augment(cfg, triples):
    """fit.Augment from a configuration's `aug` entry (None: no
    augmentation): the sensor turned by up to rotate_deg, a gain of
    1 +- scale per sensor, an optional gyroscope bias."""
    a = cfg.get("aug")
    if not a:
        return None
    return fit.Augment(triples=triples, rotate_deg=a.get("rotate_deg", 0.0),
                       scale=a.get("scale", 0.0),
                       bias={1: a["gyro_bias"]} if a.get("gyro_bias") else None)


def _cv_job(train_one, name, cfg, fold, train_subjects, val_subjects, seed):
    t0 = time.time()
    _, _, _, hist = train_one(protocol.shared(), cfg, train_subjects, val_subjects, seed)
    curve = [h["val_f1"] for h in hist if "val_f1" in h]
    log("  cv %-14s fold %d: validation macro-F1 %.4f (last epoch), %.0f s" % (
        name, fold, curve[-1], time.time() - t0))
    return {"config": name, "fold": fold, "val_subjects": val_subjects, "curve": curve,
            "final": curve[-1], "time_s": time.time() - t0}


def cross_validate(train_one, d, configs, names, n_folds, work, n_jobs=None):
    """Trains every named configuration once per fold of d["train_subjects"]
    (seed 0), the fold's subjects held out for validation, with
    train_one(d, cfg, train_subjects, val_subjects, seed) -> (net, mean, std,
    history).  The summary (macro-F1 of the last epoch, mean of the folds)
    is merged into work/cv.json, so candidates added later sit next to the
    earlier ones; returns the name of the best candidate in the file."""
    folds = protocol.subject_folds(d["train_subjects"], n_folds, seed=0)
    log("cv folds (validation subjects): %s" % folds)
    jobs = [(train_one, n, configs[n], k, [s for s in d["train_subjects"] if s not in val], val, 0)
            for n in names for k, val in enumerate(folds)]
    res = protocol.run_parallel(_cv_job, jobs, n_jobs, shared=d)
    summary = {}
    for n in names:
        curves = np.array([r["curve"] for r in res if r["config"] == n])
        summary[n] = {"config": configs[n], "final_mean": float(curves[:, -1].mean()),
                      "final_per_fold": curves[:, -1].tolist(),
                      "mean_curve": curves.mean(0).tolist()}
        log("%-14s validation macro-F1 at the last epoch: %.4f (folds %s)" % (
            n, summary[n]["final_mean"], ", ".join("%.4f" % v for v in curves[:, -1])))
    path = os.path.join(work, "cv.json")
    old = {}
    if os.path.exists(path):
        with open(path) as f:
            old = json.load(f)
    old.setdefault("summary", {}).update(summary)
    old["folds"] = folds
    old["runs"] = [r for r in old.get("runs", []) if r["config"] not in names] + res
    with open(path, "w") as f:
        json.dump(old, f, indent=1)
    best = max(old["summary"], key=lambda n: old["summary"][n]["final_mean"])
    log("best on validation: %s (%.4f); written %s" % (best, old["summary"][best]["final_mean"],
                                                      path))
    return best


def calibration_windows(x, subjects_of_windows, train_subjects, seed, n=2048):
    """n training windows drawn with the seed: the INT8 set's calibration."""
    m = np.isin(subjects_of_windows, train_subjects)
    rng = np.random.default_rng(seed)
    return x[m][rng.choice(int(m.sum()), size=min(n, int(m.sum())), replace=False)]


def ship(root, name, runs, seed):
    """Copies the model of the run with the declared shipped seed to
    models/<name>.gwm."""
    shipped = [r for r in runs if r["seed"] == seed][0]
    os.makedirs(os.path.join(root, "models"), exist_ok=True)
    shutil.copyfile(shipped["model"], os.path.join(root, "models", name + ".gwm"))
    log("shipped seed %d -> models/%s.gwm" % (seed, name))
