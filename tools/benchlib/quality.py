"""`bench.py quality`: toy-mixture quality over seeds, per rule, at equal wall time.

Each (dataset, rule, penalty, seed) is one `python -m tfgan1.run` subprocess,
`--workers` at a time, each on `--threads` CPU threads. Equal wall time: a
calibration subprocess (the same thread count) times every rule's step,
interleaved, and each rule then gets `seconds x its steps/s` steps, so a faster
rule trains for more steps. Calibrated step counts do not move with the load
of the machine during the long runs; wall times are recorded beside them. A run
whose final metrics exist is not run again, so a long table can be resumed.
"""
import concurrent.futures
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time

from benchlib import models
from benchlib import report
from benchlib import variants as variants_lib
import toolkit
from tfgan1.errors import UserError

_TOOL = os.path.join(models.ROOT, "tools", "bench.py")
# PacGAN (Lin et al. 2018, arXiv:1712.04086) Table 1 on the same data definitions:
# (modes, high-quality %, reverse KL), mean +- standard error where published.
PACGAN = {
    "ring8": {"GAN": (6.3, 0.5, 98.2, 0.2, 0.45), "PacGAN4": (7.8, 0.1, 95.9, 1.4, 0.07)},
    "grid25": {"GAN": (17.3, 0.8, 94.8, 0.7, 0.70), "PacGAN4": (24.8, 0.2, 93.6, 0.6, 0.04)},
}
PENALTIES = {"none": "penalties=[]", "r1": "penalties=[{{name: r1, weight: {w}}}]"}


def main(flags, log):
  """The quality mode: (JSON payload, header -> Markdown)."""
  toolkit.check_choices(flags.datasets, tuple(PACGAN), "datasets")
  toolkit.check_choices(flags.penalties, tuple(PENALTIES), "penalties")
  toolkit.check_choices(flags.rules, tuple(variants_lib.RULES), "rules")
  toolkit.check_at_least(1, seeds=flags.seeds, workers=flags.workers, threads=flags.threads)
  out = os.path.join(flags.out or "runs/bench", "quality_runs")
  todo, rates = [], {}
  for dataset in flags.datasets:
    steps_of = fixed_steps(flags.run_steps, dataset)
    for penalty in [] if steps_of else flags.penalties:
      extra = flags.set + [PENALTIES[penalty].format(w=flags.r1_weight)]
      if flags.seconds > 0:  # a penalty changes the cost of a step: calibrate each
        rate = calibrate(dataset, flags.rules, flags.threads, extra)
        rates[f"{dataset}/{penalty}"] = rate
        steps_of.update({(r, penalty): int(flags.seconds * rate[r]) for r in flags.rules})
      else:
        own = variants_lib.build_config(dataset, extra).train.steps
        steps_of.update({(r, penalty): own for r in flags.rules})
    log(f"{dataset}: steps per run {steps_of}")
    decay = _start_rate(dataset, flags.set) if flags.decay else 0.0
    todo += tasks(dataset, flags.rules, flags.penalties, flags.seeds, steps_of, out,
                  flags.r1_weight, flags.set, decay)
  # Seed-major order: a table cut short still has every cell at the same seeds.
  todo.sort(key=lambda t: (t["seed"], t["dataset"], t["penalty"], t["rule"]))
  rows = run_all(todo, flags.workers, flags.threads, log)
  summaries = summarize(rows)
  return ({"rates": rates, "runs": rows, "summary": summaries},
          lambda header: report.quality_markdown(header, summaries, PACGAN))


def fixed_steps(run_steps, dataset):
  """{(rule, penalty): steps} given by --run_steps for `dataset`."""
  out = {}
  for item in run_steps:
    key, _, value = item.partition("=")
    parts = key.split("/", 2)
    if len(parts) != 3 or not value.isdigit():
      raise UserError(f"--run_steps: {item!r} is not allowed; expected dataset/penalty/rule=N")
    if parts[0] == dataset:
      out[(parts[2], parts[1])] = int(value)
  return out


def _start_rate(dataset, extra):
  """The config's learning rate (a schedule's starting value) for --decay."""
  rate = variants_lib.build_config(dataset, extra).optimizer.learning_rate
  return float(rate if isinstance(rate, (int, float)) else rate["value"])


def thread_env(threads):
  env = dict(os.environ)
  env.update(TF_NUM_INTRAOP_THREADS=str(threads), TF_NUM_INTEROP_THREADS=str(threads),
             OMP_NUM_THREADS=str(threads))
  return env


def calibrate(dataset, rules, threads, extra, steps=100, rounds=3):
  """{rule: steps/s} of each rule's step on `dataset`, one subprocess."""
  command = [sys.executable, _TOOL, "speed", f"--models={dataset}", "--jit=config",
             f"--variants={','.join(rules)}", f"--steps={steps}", f"--rounds={rounds}",
             "--warmup=10", "--out=", "--cli=false"] + [f"--set={e}" for e in extra]
  done = subprocess.run(command, capture_output=True, text=True, cwd=models.ROOT,
                        env=thread_env(threads), check=False)
  lines = [l for l in done.stdout.splitlines() if l.startswith("BENCH_ROWS ")]
  if done.returncode or not lines:
    raise RuntimeError(f"calibration failed: {done.stderr.strip().splitlines()[-1:]}")
  return {r["variant"]: r["steps_per_s"] for r in json.loads(lines[-1][len("BENCH_ROWS "):])}


def _final(workdir):
  try:
    with open(os.path.join(workdir, "metrics.jsonl"), encoding="utf-8") as f:
      lines = [json.loads(l) for l in f if l.strip()]
  except FileNotFoundError:
    return None
  return lines[-1] if lines else None


def train_one(task, threads):
  """Trains one task unless it finished before -> (its final record, wall seconds)."""
  final = _final(task["workdir"])
  if final is None or final.get("step") != task["steps"]:
    start = time.perf_counter()
    command = [sys.executable, "-m", "tfgan1.run", "--config", task["config"],
               "--workdir", task["workdir"]]
    for override in task["overrides"]:
      command += ["--set", override]
    subprocess.run(command, capture_output=True, cwd=models.ROOT, env=thread_env(threads),
                   check=True)
    with open(os.path.join(task["workdir"], "wall_s.txt"), "w", encoding="ascii") as f:
      f.write(f"{time.perf_counter() - start:.1f}\n")
    final = _final(task["workdir"])
  try:
    with open(os.path.join(task["workdir"], "wall_s.txt"), encoding="ascii") as f:
      return final, float(f.read())
  except FileNotFoundError:  # finished after this tool was stopped
    return final, _logged_wall(task["workdir"])


def _logged_wall(workdir):
  """Seconds from the run's own last `done: step N in H:MM:SS` line in train.log."""
  with open(os.path.join(workdir, "train.log"), encoding="utf-8") as f:
    hours, minutes, seconds = re.findall(r"\] done: step \d+ in (\d+):(\d+):(\d+)", f.read())[-1]
  return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def run_one(task, threads):
  """Trains one toy task (resumable) -> its result row."""
  final, wall = train_one(task, threads)
  keep = ("dataset", "rule", "penalty", "seed", "steps")
  return {**{k: task[k] for k in keep}, "wall_s": wall, "modes": final["modes"],
          "high_quality": 100.0 * final["high_quality"], "reverse_kl": final["reverse_kl"]}


def rule_overrides(rule):
  """The config keys of a bench rule name (`one_step/fused`, `alternating`: 1:1)."""
  if rule == "alternating":
    return ["train.rule=alternating", "train.n_d=1", "train.n_g=1"]
  name, _, form = rule.partition("/")
  return [f"train.rule={name}"] + ([f"train.one_step_form={form}"] if form else [])


def tasks(dataset, rules, penalties, seeds, steps_of, out, r1_weight, extra, decay=0.0):
  """The runs of one dataset; `steps_of[(rule, penalty)]` is each one's length."""
  config = os.path.join(models.ROOT, "configs", f"{dataset}.yaml")
  for rule in rules:
    for penalty in penalties:
      for seed in range(seeds):
        steps = steps_of[(rule, penalty)]
        schedule = ([f"optimizer.learning_rate={{schedule: linear, value: {decay}, "
                     f"decay_steps: {steps}}}"] if decay > 0 else [])
        overrides = list(extra) + schedule + [
            f"seed={seed}", f"train.steps={steps}", "eval.every=0",
            f"train.checkpoint_every={steps}", f"train.sample_every={steps}",
            PENALTIES[penalty].format(w=r1_weight)]
        overrides += rule_overrides(rule)
        yield {"dataset": dataset, "rule": rule, "penalty": penalty, "seed": seed,
               "steps": steps, "config": config, "overrides": overrides,
               "workdir": os.path.join(out, dataset, rule.replace("/", "_"), penalty,
                                       f"steps{steps}" + (f"_linear{decay:g}" if decay > 0 else ""),
                                       f"seed{seed}")}


def _toy_line(r):
  return (f"{r['dataset']} {r['rule']} {r['penalty']} seed {r['seed']}: {r['modes']:.0f} "
          f"modes, {r['high_quality']:.1f}% HQ, rKL {r['reverse_kl']:.3f} ({r['wall_s']:.0f} s)")


def run_all(todo, workers, threads, log=print, run=run_one, line=_toy_line):
  """`run(task, threads)` for every task, `workers` at a time; a line per result."""
  rows = []
  with concurrent.futures.ThreadPoolExecutor(workers) as pool:
    futures = {pool.submit(run, t, threads): t for t in todo}
    for future in concurrent.futures.as_completed(futures):
      rows.append(future.result())
      log(line(rows[-1]))
  return rows


def mean_se(values):
  mean = statistics.fmean(values)
  se = statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else 0.0
  return mean, se


def summarize(rows):
  groups = {}
  for r in rows:
    groups.setdefault((r["dataset"], r["rule"], r["penalty"]), []).append(r)
  out = []
  for (dataset, rule, penalty), group in sorted(groups.items()):
    summary = {"dataset": dataset, "rule": rule, "penalty": penalty, "seeds": len(group),
               "steps": group[0]["steps"]}
    for key in ("modes", "high_quality", "reverse_kl", "wall_s"):
      summary[key] = mean_se([r[key] for r in group])
    summary["all_modes_runs"] = sum(r["modes"] == max_modes(dataset) for r in group)
    out.append(summary)
  return out


def max_modes(dataset):
  return {"ring8": 8, "grid25": 25}[dataset]
