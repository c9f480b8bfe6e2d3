"""The training loop shared by every model: AdamW, cosine schedule, gradient
clipping, fixed seeds, optional class weights and augmentation, selection of
the epoch on a validation set, all on CPU with a fixed number of threads.

Windows come in as raw front-end output [N, T, C] in the channels' units;
normalisation statistics are computed here from the training windows and
returned with the network, because the model file stores them
(input.mean, input.std) and the engines apply them."""

import copy
import math
import random
import time

import numpy as np
import torch
import torch.nn.functional as F

from . import net as net_mod


def set_seed(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def norm_stats(x):
    """Per-channel mean and std of windows [N, T, C] (float64 sums)."""
    flat = np.asarray(x, np.float64).reshape(-1, x.shape[-1])
    mean = flat.mean(0)
    std = flat.std(0)
    std = np.where(std > 1e-6, std, 1.0)
    return mean.astype(np.float32), std.astype(np.float32)


def macro_f1(y, p, k):
    """sklearn's macro-F1 (labels present in y or p)."""
    y = np.asarray(y)
    p = np.asarray(p)
    f1s = []
    for c in range(k):
        tp = np.sum((y == c) & (p == c))
        sup = np.sum(y == c)
        pred = np.sum(p == c)
        if sup == 0 and pred == 0:
            continue
        f1s.append(2.0 * tp / (sup + pred))
    return float(np.mean(f1s)) if f1s else 0.0


def _rotation(rng, max_deg):
    """A random rotation matrix of at most max_deg about a random axis."""
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    ang = np.deg2rad(rng.uniform(-max_deg, max_deg))
    K = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + math.sin(ang) * K + (1 - math.cos(ang)) * K @ K


class Augment:
    """Window-level augmentation in the channels' physical units (before
    normalisation).

    triples: channel index triples that rotate together as one 3-D vector
    (acc, gyro, body/total acc of one sensor).  rotate_deg: the sensor turned
    by up to this angle (one rotation per window for every triple: the
    device sits a little differently on each wearer).  scale: per-window
    gain in [1 - scale, 1 + scale] per triple.  log_gain: a per-window gain
    exp(U(-log_gain, log_gain)) on every channel (amplitude differs between
    wearers far more than a few percent).  bias: dict triple index ->
    std of a constant offset added to that triple (gyro bias).  noise: std
    of white noise as a fraction of each channel's std.  offset_groups,
    offset: channels holding log10 powers of one sensor (a list of index
    lists) get one common offset U(-offset, offset) per window and group: a
    gain on that sensor, seen through its log powers."""

    def __init__(self, triples=(), rotate_deg=0.0, scale=0.0, bias=None, noise=0.0, std=None,
                 log_gain=0.0, offset_groups=(), offset=0.0):
        self.triples = [list(t) for t in triples]
        self.rotate_deg = rotate_deg
        self.scale = scale
        self.log_gain = log_gain
        self.bias = dict(bias or {})
        self.noise = noise
        self.std = None if std is None else np.asarray(std, np.float32)
        self.offset_groups = [list(g) for g in offset_groups]
        self.offset = offset

    def active(self):
        return bool(self.rotate_deg or self.scale or self.bias or self.noise or self.log_gain
                    or (self.offset and self.offset_groups))

    def __call__(self, x, rng):
        x = x.copy()
        n = len(x)
        if self.rotate_deg:
            R = np.stack([_rotation(rng, self.rotate_deg) for _ in range(n)]).astype(np.float32)
            for t in self.triples:
                x[:, :, t] = np.einsum("nij,ntj->nti", R, x[:, :, t])
        if self.scale:
            for t in self.triples:
                g = rng.uniform(1 - self.scale, 1 + self.scale, size=(n, 1, 1)).astype(np.float32)
                x[:, :, t] *= g
        if self.log_gain:
            x *= np.exp(rng.uniform(-self.log_gain, self.log_gain, size=(n, 1, 1))).astype(np.float32)
        for ti, sd in self.bias.items():
            t = self.triples[ti]
            x[:, :, t] += rng.normal(0, sd, size=(n, 1, len(t))).astype(np.float32)
        if self.offset:
            for g in self.offset_groups:
                x[:, :, g] += rng.uniform(-self.offset, self.offset,
                                          size=(n, 1, 1)).astype(np.float32)
        if self.noise and self.std is not None:
            x += (rng.normal(size=x.shape) * (self.noise * self.std)).astype(np.float32)
        return x


def predict_torch(net, x, mean, std, batch=2048):
    xn = (np.asarray(x, np.float32) - mean) / std
    return net_mod.predict(net, xn, batch)


def train(x, y, classes, *, xval=None, yval=None, epochs=60, batch=128, lr=2e-3,
          weight_decay=1e-4, dropout=0.15, seed=0, class_weight=None, sampler_balance=False,
          augment=None, label_smoothing=0.0, epoch_size=None, select="last", threads=1,
          warmup=0, log=print, mean=None, std=None, keep_val_probs=False, stop_epoch=None):
    """Trains one MicroBi-ConvLSTM.  Returns (net, mean, std, history).

    select: "last" keeps the final weights; "val" keeps the epoch with the
    best validation macro-F1 (ties: the later epoch).  keep_val_probs: every
    epoch's validation softmax goes into the history ("val_probs").  epoch_size: windows
    drawn per epoch (random subset without replacement, or with the class
    balanced sampler), default all.  stop_epoch: stop after that many epochs
    of the `epochs`-long schedule (the learning rate follows the full
    schedule up to there), default the whole schedule."""
    torch.set_num_threads(threads)
    set_seed(seed)
    rng = np.random.default_rng(seed)
    x = np.asarray(x, np.float32)
    y = np.asarray(y, np.int64)
    T, C = x.shape[1], x.shape[2]
    if mean is None:
        mean, std = norm_stats(x)
    net = net_mod.MicroBiConvLSTM(C, classes, T, dropout=dropout)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)
    n_per_epoch = epoch_size or len(x)
    steps = epochs * math.ceil(n_per_epoch / batch)

    def lr_at(step):
        if warmup and step < warmup:
            return lr * (step + 1) / warmup
        return 1e-6 + (lr - 1e-6) * 0.5 * (1 + math.cos(math.pi * step / steps))

    cw = None if class_weight is None else torch.tensor(class_weight, dtype=torch.float32)
    if sampler_balance:
        counts = np.bincount(y, minlength=classes).astype(np.float64)
        pw = 1.0 / np.maximum(counts[y], 1)
        pw /= pw.sum()
    history = []
    best = (-1.0, None, -1)
    step = 0
    t0 = time.time()
    for ep in range(epochs if stop_epoch is None else min(stop_epoch, epochs)):
        net.train()
        if sampler_balance:
            idx = rng.choice(len(x), size=n_per_epoch, replace=True, p=pw)
        elif n_per_epoch < len(x):
            idx = rng.choice(len(x), size=n_per_epoch, replace=False)
        else:
            idx = rng.permutation(len(x))
        tot, nb = 0.0, 0
        for b in range(0, len(idx), batch):
            bi = idx[b:b + batch]
            xb = x[bi]
            if augment is not None and augment.active():
                xb = augment(xb, rng)
            xb = torch.from_numpy((xb - mean) / std)
            yb = torch.from_numpy(y[bi])
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            loss = F.cross_entropy(net(xb), yb, weight=cw, label_smoothing=label_smoothing)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            tot += float(loss)
            nb += 1
            step += 1
        rec = {"epoch": ep + 1, "loss": tot / max(nb, 1), "time_s": time.time() - t0}
        if xval is not None and len(xval):
            lv = predict_torch(net, xval, mean, std)
            pv = lv.argmax(1)
            if keep_val_probs:
                e = np.exp(lv - lv.max(1, keepdims=True))
                rec["val_probs"] = (e / e.sum(1, keepdims=True)).astype(np.float32)
            rec["val_f1"] = macro_f1(yval, pv, classes)
            rec["val_acc"] = float(np.mean(pv == yval))
            if rec["val_f1"] >= best[0]:
                best = (rec["val_f1"], copy.deepcopy(net.state_dict()), ep + 1)
        history.append(rec)
        if log:
            log("  epoch %3d loss %.4f%s  %.0fs" % (
                ep + 1, rec["loss"],
                "  val macro-F1 %.4f acc %.4f" % (rec["val_f1"], rec["val_acc"])
                if "val_f1" in rec else "", rec["time_s"]))
    if select == "val" and best[1] is not None:
        net.load_state_dict(best[1])
        history.append({"selected_epoch": best[2], "selected_val_f1": best[0]})
    net.eval()
    return net, mean, std, history
