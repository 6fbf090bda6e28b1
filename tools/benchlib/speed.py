"""`bench.py speed`: milliseconds per step of every variant, interleaved in one
process (`timing.interleave`), and the whole CLI run against the bare loop."""
import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import models
from benchlib import report
from benchlib import timing
from benchlib import variants as variants_lib
from tfgan1.errors import UserError
import toolkit


def main(flags, log):
  """The speed mode: (JSON payload, header -> Markdown)."""
  steps = flags.steps or 20
  toolkit.check_at_least(1, steps=steps, rounds=flags.rounds)
  for k in flags.steps_per_call:
    if k != "config" and not (k.isdigit() and int(k) >= 1):
      raise UserError(f"--steps_per_call: {k!r} is not allowed; expected 'config' or an "
                      "integer >= 1")
  rows, cli_rows = [], []
  for model, jit in variants_lib.model_jits(flags):
    rows += measure(model, jit, flags.variants, steps, flags.rounds, flags.warmup,
                    flags.set, log)
    if flags.cli and model in flags.cli_models:
      cli_rows += cli_versus_bare(model, jit, steps, flags.rounds, flags.set, log,
                                  flags.steps_per_call)
  print("BENCH_ROWS " + json.dumps(rows))  # read by quality.calibrate
  return ({"rows": rows, "cli": cli_rows},
          lambda header: report.speed_markdown(header, rows, cli_rows))


def row(model, jit, name, ms, base_ms):
  return {"model": model, "jit_compile": jit, "variant": name, **timing.stats(ms),
          "speedup_vs_alternating": (statistics.median(base_ms) / statistics.median(ms)
                                     if base_ms else None)}


def measure(model, jit, names, steps, rounds, warmup, extra=(), log=print):
  start = time.perf_counter()
  built = [variants_lib.build(model, name, jit, extra) for name in names]
  times = timing.interleave(built, steps, rounds, warmup)
  log(f"{model} XLA {jit}: {len(built)} variants, {rounds} rounds x {steps} steps, "
      f"{time.perf_counter() - start:.0f} s")
  base = times.get(variants_lib.BASE)
  return [row(model, jit, name, ms, base) for name, ms in times.items()]


def _cli_rate(workdir):
  """Steps/s of a finished run between its first and last logged step, read
  with TensorBoard's own event reader (sampling and checkpoints fall inside)."""
  from tensorboard.backend.event_processing import event_accumulator  # pylint: disable=g-import-not-at-top
  path = glob.glob(os.path.join(workdir, "events.out.tfevents.*"))[0]
  acc = event_accumulator.EventAccumulator(path, size_guidance={"tensors": 0})
  acc.Reload()
  events = acc.Tensors("loss/d")
  first, last = events[0], events[-1]
  return (last.step - first.step) / (last.wall_time - first.wall_time)


def _cli_run(path, overrides, total, jit, steps_per_call):
  """Steps/s of one whole CLI run (a subprocess, eval off)."""
  with tempfile.TemporaryDirectory() as workdir:
    command = [sys.executable, "-m", "tfgan1.run", "--config", path, "--workdir", workdir,
               "--set", f"train.steps={total}", "--set", "eval.every=0",
               "--set", f"train.jit_compile={str(jit).lower()}"]
    for override in overrides:
      command += ["--set", override]
    if steps_per_call != "config":
      command += ["--set", f"train.steps_per_call={steps_per_call}"]
    subprocess.run(command, check=True, capture_output=True, cwd=models.ROOT)
    return _cli_rate(workdir)


def cli_versus_bare(model, jit, steps, rounds, extra=(), log=print,
                    steps_per_call=("config",)):
  """The CLI run's steps/s (shipped intervals, eval off), once per
  `train.steps_per_call` value, against the bare loop's, timed in this process
  before and after them."""
  path, overrides, _ = models.preset(model)
  bare = variants_lib.build(model, variants_lib.BARE, jit, extra)
  cfg = bare.run.config.train
  total = 2 * max(cfg.sample_every, cfg.checkpoint_every) + 2 * cfg.log_every
  before = timing.interleave([bare], steps, rounds, 3)[bare.name]
  cli = {k: _cli_run(path, overrides + list(extra), total, jit, k) for k in steps_per_call}
  after = timing.interleave([bare], steps, rounds, 0)[bare.name]
  bare_rate = 1000.0 / statistics.median(before + after)
  rows = []
  for k, rate in cli.items():
    calls = cfg.steps_per_call if k == "config" else int(k)
    log(f"{model} XLA {jit} steps_per_call {calls}: CLI {rate:.1f} steps/s over {total} "
        f"steps, bare {bare_rate:.1f} steps/s")
    rows.append({"model": model, "jit_compile": jit, "steps_per_call": calls,
                 "cli_steps": total,
                 "intervals": {"log": cfg.log_every, "sample": cfg.sample_every,
                               "checkpoint": cfg.checkpoint_every},
                 "cli_steps_per_s": rate, "bare_steps_per_s": bare_rate,
                 "bare_ms_before": before, "bare_ms_after": after,
                 "cli_over_bare": rate / bare_rate})
  return rows
