"""`bench.py curve`: an image config's evaluation metric against wall time, per rule.

Each (rule, seed) is one `python -m tfgan1.run` subprocess of the shipped config
(`quality.train_one`: `--workers` at a time, `--threads` each, resumable). Equal
wall time as in `quality`: a calibration times every rule's step on an idle
machine, each rule gets `seconds x its steps/s` steps, and evaluates at `points`
evenly spaced steps. The x axis is the calibrated training time of the step
(step / steps per second), so the curves do not move with the machine's load
while they run; each run's real wall time is recorded beside them.
"""
import os
import statistics

from benchlib import models
from benchlib import quality
from benchlib import report
from benchlib import variants as variants_lib
import toolkit


def main(flags, log):
  """The curve mode: (JSON payload, header -> Markdown); also writes OUT/curve.png."""
  models.check([flags.curve_model], "curve_model")
  toolkit.check_choices(flags.rules, tuple(variants_lib.RULES), "rules")
  toolkit.check_at_least(1, seeds=flags.seeds, workers=flags.workers, threads=flags.threads,
                         points=flags.points, seconds=flags.seconds)
  model, metric = flags.curve_model, flags.metric
  steps_of = {rule: n for (rule, _), n in quality.fixed_steps(flags.run_steps, model).items()}
  if set(steps_of) != set(flags.rules):  # calibrate unless --run_steps gives them all
    rates = quality.calibrate(model, flags.rules, flags.threads, flags.set,
                              steps=flags.steps or 30)
    steps_of = {r: int(flags.seconds * rates[r]) for r in flags.rules}
  rates = {r: steps_of[r] / flags.seconds for r in flags.rules}
  log(f"{model}: steps per run {steps_of}")
  out = flags.out or "runs/bench"
  todo = sorted(tasks(model, flags.rules, flags.seeds, steps_of, flags.points,
                      os.path.join(out, "curve_runs"), flags.set),
                key=lambda t: (t["seed"], t["rule"]))
  quality.run_all(todo, flags.workers, flags.threads, log, run=quality.train_one,
                  line=lambda r: f"{model}: a run done, final {metric} {r[0].get(metric)} "
                  f"({r[1]:.0f} s)")
  rows = collect(todo, rates, metric)
  summary = summarize(rows)
  os.makedirs(out, exist_ok=True)
  png = os.path.join(out, "curve.png")
  plot(summary, metric, png, f"{model}: {metric} at equal wall time")
  log(f"wrote {png}")
  return ({"rates": rates, "runs": rows, "summary": summary},
          lambda header: report.curve_markdown(header, summary, metric))


def tasks(model, rules, seeds, steps_of, points, out, extra):
  """The runs of one model; `steps_of[rule]` is each one's length."""
  config, preset, _ = models.preset(model)
  for rule in rules:
    steps = steps_of[rule]
    every = max(1, steps // points)
    for seed in range(seeds):
      overrides = list(preset) + list(extra) + [
          f"seed={seed}", f"train.steps={steps}", f"eval.every={every}",
          f"train.checkpoint_every={steps}", f"train.sample_every={steps}"]
      yield {"dataset": model, "rule": rule, "penalty": "none", "seed": seed, "steps": steps,
             "config": config, "overrides": overrides + quality.rule_overrides(rule),
             "workdir": os.path.join(out, model, rule.replace("/", "_"), f"steps{steps}",
                                     f"seed{seed}")}


def read_curve(workdir, metric):
  """[(step, value)] of `eval/<metric>` in a run's TensorBoard events."""
  from tensorboard.backend.event_processing import event_accumulator  # pylint: disable=g-import-not-at-top
  from tensorboard.util import tensor_util  # pylint: disable=g-import-not-at-top
  acc = event_accumulator.EventAccumulator(
      workdir, size_guidance={event_accumulator.TENSORS: 0})
  acc.Reload()
  return [(e.step, float(tensor_util.make_ndarray(e.tensor_proto)))
          for e in acc.Tensors(f"eval/{metric}")]


def collect(todo, rates, metric):
  """One row per run: its curve on the calibrated time axis and its wall time."""
  rows = []
  for t in todo:
    with open(os.path.join(t["workdir"], "wall_s.txt"), encoding="ascii") as f:
      wall = float(f.read())
    curve = read_curve(t["workdir"], metric)
    rows.append({"rule": t["rule"], "seed": t["seed"], "steps": t["steps"], "wall_s": wall,
                 "curve": [(s, s / rates[t["rule"]], v) for s, v in curve]})
  return rows


def summarize(rows):
  """Per rule and evaluation step: (seconds, mean, standard error) over seeds."""
  out = {}
  for rule in dict.fromkeys(r["rule"] for r in rows):
    runs = [r["curve"] for r in rows if r["rule"] == rule]
    steps = sorted(set.intersection(*(set(s for s, _, _ in c) for c in runs)))
    points = []
    for step in steps:
      values = [v for c in runs for s, _, v in c if s == step]
      seconds = next(t for s, t, _ in runs[0] if s == step)
      points.append((step, seconds, *quality.mean_se(values)))
    out[rule] = {"seeds": len(runs), "points": points,
                 "wall_s": statistics.fmean(r["wall_s"] for r in rows if r["rule"] == rule)}
  return out


def plot(summary, metric, path, title):
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  fig, ax = plt.subplots(figsize=(5.5, 3.6))
  for rule, s in summary.items():
    _, seconds, mean, se = zip(*s["points"])
    ax.plot(seconds, mean, "o-", ms=3, label=f"{rule} ({s['seeds']} seeds)")
    ax.fill_between(seconds, [m - e for m, e in zip(mean, se)],
                    [m + e for m, e in zip(mean, se)], alpha=0.2)
  ax.set_xlabel("training time, s (calibrated, 1 CPU thread)")
  ax.set_ylabel(f"{metric} (mean ± s.e.)")
  ax.set_title(title, fontsize=9)
  ax.grid(alpha=0.3)
  ax.legend(fontsize=8)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)
