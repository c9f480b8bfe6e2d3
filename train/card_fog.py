"""The model card of the Daphnet freeze-of-gait model (docs/models/fog-daphnet.md),
from train_fog.py's report.  Run as `train/train_fog.py --card`."""

import json
import os

import numpy as np

from gaitway import card, data_daphnet, evaluate, protocol

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAME = "fog-daphnet"
CLASSES = data_daphnet.CLASSES


def _pm(vals, scale=100.0, digits=1):
    m, s, _ = protocol.mean_sd(vals)
    return "%.*f +- %.*f" % (digits, m * scale, digits, s * scale)


def main():
    work = os.path.join(ROOT, "build-cache", "train", NAME)
    with open(os.path.join(work, "report.json")) as f:
        rep = json.load(f)
    model = os.path.join(ROOT, "models", NAME + ".gwm")
    docs = os.path.join(ROOT, "docs", "models")
    os.makedirs(docs, exist_ok=True)
    ps = rep["per_seed"]
    seed0 = [e for e in ps if e["seed"] == rep["shipped"]["seed"]][0]
    card.confusion_png(seed0["window_int8"]["confusion"], CLASSES,
                       os.path.join(docs, NAME + "-loso.png"),
                       "Daphnet LOSO (subjects 1, 2, 3, 7 pooled), INT8, seed %d" % seed0["seed"])
    info = card.model_info(evaluate.tool_path(), model)
    info["file_bytes"] = os.path.getsize(model)
    w8, other8 = card.int8_bytes_breakdown(model)
    wf = [e["window_int8"]["macro_f1"] for e in ps]
    wf32 = [e["window_fp32"]["macro_f1"] for e in ps]
    agree = [e["agreement"] for e in ps]
    sens = [e["episodes"]["sensitivity"] for e in ps]
    fah = [e["episodes"]["strict_false_alarms_per_hour"] for e in ps]
    fah_c = [e["episodes"]["false_alarms_per_hour"] for e in ps]
    lat = [e["episodes"]["alarm_latency_median_s"] for e in ps]
    onset = [e["episodes"]["latency_median_s"] for e in ps]
    ep = seed0["episodes"]
    fi = rep["freeze_index"]
    times = [t for e in ps for t in e["train_time_s"]]

    L = []
    L.append("# fog-daphnet: freeze of gait from ankle, thigh and trunk accelerometers (Daphnet)")
    L.append("")
    L.append("`models/fog-daphnet.gwm` (installed as `fog.gwm`, gaitwayd's default FoG model): model "
             "id `daphnet-fog` 1.0.0, MicroBi-ConvLSTM, 9 channels (ankle, thigh, trunk x forward, "
             "vertical, lateral, in g) x 64 samples at 32 Hz (2 s), a decision every 8 samples "
             "(0.25 s), 2 classes (NO_FREEZE, FREEZE). FP32 and INT8 sets; gaitwayd runs INT8 and "
             "feeds p(FREEZE) to its episode tracker.")
    L.append("")
    L.append("## Headline figures (leave one subject out, 5 seeds)")
    L.append("")
    L.append("Each subject with freezes (1, 2, 3, 7) is the test subject once; the model is "
             "trained on all other recordings, with its configuration and detector chosen on a "
             "validation subject from the training side only. Figures pool the four test "
             "subjects; mean +- sample standard deviation over 5 seeds; C engines and "
             "libgaitway's episode tracker and metrics.")
    L.append("")
    L.append("| | MicroBi-ConvLSTM (INT8) | freeze index, 4 s, Baechlin's threshold 1.5 | freeze index, 4 s, threshold tuned per fold | freeze index, 2 s windows, tuned | target |")
    L.append("|---|---|---|---|---|---|")
    L.append("| window macro-F1 %% | %s | %.1f | %.1f | %.1f | >= 85 |" % (
        _pm(wf), 100 * fi["4s-default"]["window"]["macro_f1"], 100 * fi["4s-tuned"]["window"]["macro_f1"],
        100 * fi["2s-tuned"]["window"]["macro_f1"]))
    L.append("| episode sensitivity %% | %s | %.1f | %.1f | %.1f | >= 85 |" % (
        _pm(sens), 100 * fi["4s-default"]["episodes"]["sensitivity"],
        100 * fi["4s-tuned"]["episodes"]["sensitivity"], 100 * fi["2s-tuned"]["episodes"]["sensitivity"]))
    L.append("| false alarms per hour of walking (strict) | %s | %.1f | %.1f | %.1f | <= 2 |" % (
        _pm(fah, scale=1.0), fi["4s-default"]["episodes"]["strict_false_alarms_per_hour"],
        fi["4s-tuned"]["episodes"]["strict_false_alarms_per_hour"],
        fi["2s-tuned"]["episodes"]["strict_false_alarms_per_hour"]))
    L.append("| detections touching no episode, per hour | %s | %.1f | %.1f | %.1f | |" % (
        _pm(fah_c, scale=1.0), fi["4s-default"]["episodes"]["false_alarms_per_hour"],
        fi["4s-tuned"]["episodes"]["false_alarms_per_hour"],
        fi["2s-tuned"]["episodes"]["false_alarms_per_hour"]))
    L.append("| alarm latency, median s (announcement minus onset) | %s | %.2f | %.2f | %.2f | |" % (
        _pm(lat, scale=1.0, digits=2), fi["4s-default"]["episodes"]["alarm_latency_median_s"],
        fi["4s-tuned"]["episodes"]["alarm_latency_median_s"],
        fi["2s-tuned"]["episodes"]["alarm_latency_median_s"]))
    L.append("")
    L.append("A strict false alarm is any stretch of a detection lasting at least 1 s outside "
             "every true episode widened by 2 s on each side; libgaitway's episode metric "
             "(`gw_fog_episode_metrics_compute`) counts only detections that touch no episode, "
             "which would let one detection running through a whole walk cost nothing, so both "
             "are shown and the detector is chosen on the strict count.")
    L.append("")
    L.append("FP32 window macro-F1 %s %%; INT8 and FP32 agree on %s %% of windows. Seed %d: %d of %d "
             "episodes detected, %d strict false alarms in %.2f hours of walking (label 1), alarm "
             "latency median %.2f s, mean %.2f s, max %.2f s; the detected interval's start lies "
             "%.2f s (median) from the true onset (it is the start of the first freezing window)."
             % (_pm(wf32), _pm(agree), seed0["seed"], ep["detected"], ep["episodes"],
                ep["strict_false_alarms"], ep["walking_hours"], ep["alarm_latency_median_s"],
                ep["alarm_latency_mean_s"], ep["alarm_latency_max_s"], ep["latency_median_s"]))
    L.append("")
    L.append("Per test subject (INT8 window macro-F1 %%, mean over seeds): %s." % ", ".join(
        "S%02d %.1f" % (int(s), 100 * np.mean([e["per_fold_int8_macro_f1"][s] for e in ps]))
        for s in sorted(ps[0]["per_fold_int8_macro_f1"], key=int)))
    L.append("")
    L.append("![confusion, LOSO pooled](fog-daphnet-loso.png)")
    L.append("")
    L.append(card.class_table(seed0["window_int8"]))
    L.append("")
    L.append("## Data")
    L.append("")
    L.append("Daphnet Freezing of Gait (UCI #245): 10 people with Parkinson's disease walking in "
             "the lab with accelerometers at the ankle, thigh and trunk (64 Hz, mg), annotated "
             "from video: 0 not part of the experiment, 1 no freeze, 2 freeze. **Only 7 of the 17 "
             "recordings are available here** (S01R02, S02R01, S02R02, S03R02, S03R03, S06R02, "
             "S07R02; freezes in subjects 1, 2, 3 and 7): every figure above rests on 4 test "
             "subjects and %d freeze episodes. Citation: M. Bächlin, M. Plotnik, D. Roggen, "
             "I. Maidan, J. M. Hausdorff, N. Giladi, G. Tröster, \"Wearable Assistant for "
             "Parkinson's Disease Patients With the Freezing of Gait Symptom\", IEEE Trans. Inf. "
             "Technol. Biomed. 14(2):436-446, 2010. Licence: cite the paper; the UCI repository "
             "lists CC BY 4.0." % ep["episodes"])
    L.append("")
    L.append("## Front end, windows and labels")
    L.append("")
    L.append("The author's recipe in the daemon's code: a 4th-order 12 Hz Butterworth anti-alias "
             "low-pass at 64 Hz, resampling to 32 Hz on the recordings' own timestamps; 9 channels "
             "in g. The `hp` configurations add a 2nd-order 0.3 Hz high-pass: the sensors' static "
             "orientation differs between wearers by up to 0.2 g per channel, and a network fed "
             "raw values learns the training wearers' mounting (the shipped model uses `%s`)."
             " Windows of 64 samples every 8 samples (0.25 s; training windows every 4) from the "
             "window ring. A window is labelled by the raw samples it spans: FREEZE or "
             "NO_FREEZE when at least %d %% of them carry that label, otherwise (mixed, or mostly "
             "label 0) it is neither trained on nor scored. Standardisation by the training "
             "windows' per-channel mean and std (stored in the model)." % (
                 rep["configs"][rep["shipped"]["config"]]["spec"], int(100 * rep["purity"])))
    L.append("")
    L.append("Episodes: a true episode is a run of label-2 samples; the detector is libgaitway's "
             "gw_fog tracker over p(FREEZE) per window, run on every stretch of the experiment "
             "(label != 0) separately. A detection overlapping no true episode is a false alarm; "
             "false alarms are counted per hour of label-1 time. Alarm latency is the end of the "
             "window whose update raised the episode's START (the earliest moment a daemon can "
             "announce it) minus the true onset.")
    L.append("")
    L.append("## Protocol and choices")
    L.append("")
    L.append("Candidate configurations (training recipe): %s." % "; ".join(
        "`%s` %s" % (n, json.dumps(c)) for n, c in rep["configs"].items()))
    L.append("")
    L.append("| test subject | validation subject | best validation macro-F1 per configuration (epochs, threshold) | chosen | detector chosen on validation |")
    L.append("|---|---|---|---|---|")
    for o, c in sorted(rep["choice"].items(), key=lambda kv: int(kv[0])):
        L.append("| %s | %s | %s | %s, %d epochs, threshold %.2f | on %.2f / off %.2f, %d windows to start, %d to end (validation: sensitivity %.2f, %.1f strict FA/h) |" % (
            o, c["val"], "; ".join("%s %.3f (%d, %.2f)" % (k, v["best_macro_f1"], v["epochs"], v["threshold"])
                                   for k, v in c["candidates"].items()),
            c["config"], c["epochs"], c["threshold"],
            c["detector"]["on"], c["detector"]["off"], c["detector"]["on_windows"],
            c["detector"]["off_windows"], c["val_episodes"]["sensitivity"],
            c["val_episodes"]["strict_false_alarms_per_hour"]))
    L.append("")
    L.append("The decision threshold is folded into the model's freeze bias (the logit offset "
             "log(t / (1 - t)) is subtracted), so the model's own argmax, which the window "
             "figures use, is the chosen decision, and p(FREEZE) = 0.5 sits at that threshold.")
    L.append("")
    sd = rep["shipped"]["detector"]
    L.append("The shipped model is trained on all seven recordings with the configuration chosen "
             "most often (`%s`, %d epochs, threshold %.2f folded in, seed %d); its figures are the "
             "LOSO estimates above (it has no held-out subject of its own). Recommended gaitwayd "
             "FoG settings (the detector chosen most often): on_threshold %.2f, off_threshold "
             "%.2f, on_windows %d, off_windows %d, with the model's hop of 8 samples (0.25 s); "
             "gaitwayd's defaults are 0.6, 0.4, 2, 2." % (
                 rep["shipped"]["config"], rep["shipped"]["epochs"], rep["shipped"]["threshold"],
                 rep["shipped"]["seed"], sd["on"], sd["off"], sd["on_windows"], sd["off_windows"]))
    L.append("")
    L.append("The freeze index baseline (lib/freeze-index.c, docs/freeze-index.md) runs on the "
             "vertical ankle acceleration at 64 Hz over the same test subjects and windows rules: "
             "Baechlin's 4 s windows every 0.5 s with FI > 1.5 and the power floor, the same with "
             "the FI threshold tuned on each fold's training subjects (thresholds %s), and 2 s "
             "windows every 0.25 s like the model's (thresholds %s). Its episodes: a freezing "
             "window starts one, two clear windows end it." % (
                 fi["4s-tuned"]["thresholds"], fi["2s-tuned"]["thresholds"]))
    L.append("")
    L.append("## Footprint")
    L.append("")
    L.append(card.footprint_table(info))
    L.append("")
    L.append("INT8 set: %d bytes of int8 weights plus %d bytes of biases, requantisation "
             "parameters and input scales." % (w8, other8))
    L.append("")
    L.append("Training time on this machine (2 cores shared with other work, one PyTorch thread "
             "per run, %d runs in parallel): %s s per model; the whole nested LOSO run took "
             "%.0f minutes." % (rep["jobs"], _pm(times, scale=1.0, digits=0),
                                rep["total_time_s"] / 60))
    L.append("")
    L.append("## Limitations")
    L.append("")
    L.append("- Tiny evidence: 4 test subjects, %d episodes and %.2f hours of walking; one false "
             "alarm moves the rate by %.1f per hour. The spread over seeds does not include the "
             "spread over people, which is larger." % (ep["episodes"], ep["walking_hours"],
                                                      1.0 / max(ep["walking_hours"], 1e-9)))
    L.append("- Sensors: needs all three accelerometers (ankle, thigh, trunk) in Daphnet's "
             "orientation; a single sensor is not supported by this model.")
    L.append("- Lab walking protocols designed to provoke freezes, 2008 hardware; daily-life "
             "walking, other gait disorders and other people's freezes are not covered.")
    L.append("- Not a medical device: the labels are the annotators' and the figures describe "
             "these recordings only.")
    L.append("")
    L.append("## Reproduce")
    L.append("")
    L.append("```sh")
    L.append("/usr/bin/python3 train/train_fog.py           # nested LOSO, 5 seeds, freeze index, models/fog-daphnet.gwm")
    L.append("/usr/bin/python3 train/train_fog.py --card    # this card")
    L.append("```")
    card.write(os.path.join(docs, NAME + ".md"), "\n".join(L))
    with open(os.path.join(docs, NAME + ".json"), "w") as f:
        json.dump({k: v for k, v in rep.items() if k not in ("outer_runs",)}, f, indent=1,
                  default=float)
    print("written docs/models/%s.md" % NAME)
