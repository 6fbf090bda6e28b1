"""Soak test (not in CI): many short runs back to back; memory must not grow.

    python tools/soak.py --runs 20 --steps 50

Trains `--runs` short runs of `--config` (ring8 by default) one after another
in this process, through `train.train_and_evaluate` as the CLI calls it, then
the same number as separate `python -m tfgan1.run` processes. In-process, it
records the resident memory (RSS) after each run and how often each run's train
step was traced; a leak (graphs, models, datasets kept alive by global state)
shows as RSS growing run after run, a retrace as a trace count above 1. For
the separate processes it records each one's peak RSS (`wait4`). Exits 1 when
the in-process RSS grows by more than `--max_growth_mb` per run (a least-squares
slope over the runs after `--settle`) or a step was traced more than once.
Linux only (reads /proc/self/statm).
"""
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
import weakref

from absl import app
from absl import flags

from tfgan1.errors import UserError
from toolkit import run_tool

FLAGS = flags.FLAGS
flags.DEFINE_string("config", "configs/ring8.yaml", "YAML run config.")
flags.DEFINE_multi_string("set", [], "Override a config key: a.b=value (repeatable).")
flags.DEFINE_integer("runs", 20, "Runs per phase (in-process, then processes).")
flags.DEFINE_integer("steps", 50, "Train steps per run.")
flags.DEFINE_integer("settle", 5, "Runs left out of the growth slope (caches warm up).")
flags.DEFINE_float("max_growth_mb", 2.0, "Largest allowed in-process RSS growth per run.")
flags.DEFINE_bool("processes", True, "Run the separate-process phase.")
flags.DEFINE_bool("in_process", True, "Run the in-process phase.")
flags.DEFINE_bool("collect", True, "gc.collect() after each in-process run.")
flags.DEFINE_bool("release", False, "After each in-process run also clear TF's kernel "
                  "cache and Keras' global state (keras.backend.clear_session): measured "
                  "not to stop the growth (docs/bench_notes/issue34.md).")


def _release():
  """What TF and Keras offer to free between runs, for the --release comparison."""
  import keras  # pylint: disable=g-import-not-at-top
  from tensorflow.python.eager import context  # pylint: disable=g-import-not-at-top
  context.context().clear_kernel_cache()
  keras.backend.clear_session(free_memory=False)


def _overrides():
  s = FLAGS.steps
  return [f"train.steps={s}", f"train.log_every={s}", f"train.sample_every={s}",
          f"train.checkpoint_every={s}", "eval.num_samples=500", *FLAGS.set]


def rss_mb():
  with open("/proc/self/statm", encoding="ascii") as f:
    pages = int(f.read().split()[1])
  return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def slope(values):
  """Least-squares slope of `values` against their index (per run)."""
  n = len(values)
  if n < 2:
    return 0.0
  mx, my = (n - 1) / 2, statistics.fmean(values)
  return (sum((i - mx) * (v - my) for i, v in enumerate(values))
          / sum((i - mx) ** 2 for i in range(n)))


def _traces(trainer):
  """How often the most traced of the trainer's step functions was traced
  (one step per call, or `train.steps_per_call` steps per call): 1 when none retraced."""
  counts = [fn.experimental_get_tracing_count()
            for fn in (getattr(trainer, "train_step", None), getattr(trainer, "train_steps", None))
            if hasattr(fn, "experimental_get_tracing_count")]
  return max(counts, default=1)


def in_process(folder):
  """[(RSS MB after the run, train-step traces, seconds, runs alive)] for each run."""
  from absl import logging  # pylint: disable=g-import-not-at-top
  from tfgan1 import config as config_lib  # pylint: disable=g-import-not-at-top
  from tfgan1.registry import loader as plugin_loader  # pylint: disable=g-import-not-at-top
  from tfgan1 import backends  # pylint: disable=g-import-not-at-top
  from tfgan1.runner import train  # pylint: disable=g-import-not-at-top
  logging.set_verbosity(logging.WARNING)
  config = config_lib.load(FLAGS.config, _overrides())
  plugin_loader.load_all(config.plugins)
  built, alive = [], []
  original = backends.make

  def recorded(cfg, strategy=None):  # keeps the trainer for its trace count, and a weakref
    run = original(cfg, strategy)
    built.append(run.trainer)
    alive.append(weakref.ref(run))
    return run

  backends.make = recorded  # what the run loop calls to build its run
  out = []
  try:
    for i in range(FLAGS.runs):
      start = time.perf_counter()
      train.train_and_evaluate(config, os.path.join(folder, f"in_{i}"))
      traces = _traces(built.pop())
      if FLAGS.release:
        _release()
      if FLAGS.collect:
        gc.collect()  # what Python's cycle collector does on its own, sooner or later
      kept = sum(r() is not None for r in alive)
      out.append((rss_mb(), traces, time.perf_counter() - start, kept))
      print(f"in-process run {i + 1}: RSS {out[-1][0]:.1f} MB, traced {traces}x, "
            f"{out[-1][2]:.1f} s, earlier runs still alive: {kept}", flush=True)
  finally:
    backends.make = original
  return out


_CHILD = """import atexit, runpy, shutil, sys
status = sys.argv.pop(1)
atexit.register(lambda: shutil.copyfile('/proc/self/status', status))
sys.argv[0] = 'tfgan1.run'
runpy.run_module('tfgan1.run', run_name='__main__')
"""


def separate(folder):
  """[(peak RSS MB, seconds)] of each `python -m tfgan1.run` process."""
  out = []
  args = [a for o in _overrides() for a in ("--set", o)]
  for i in range(FLAGS.runs):
    start = time.perf_counter()
    status_file = os.path.join(folder, f"status_{i}")
    # The child reports its own VmHWM at exit: a child's rusage maxrss on Linux
    # starts from the parent's RSS at fork, which would hide its own peak.
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, status_file, "--config", FLAGS.config,
         "--workdir", os.path.join(folder, f"proc_{i}"), *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    if proc.returncode != 0:
      err = proc.stderr.decode(errors="replace").strip().splitlines()[-1:]
      raise UserError(f"soak: process run {i + 1} failed: {err}")
    with open(status_file, encoding="ascii") as f:
      peak_kb = int(next(l for l in f if l.startswith("VmHWM:")).split()[1])
    out.append((peak_kb / 1024, time.perf_counter() - start))
    print(f"process run {i + 1}: peak RSS {out[-1][0]:.1f} MB, {out[-1][1]:.1f} s", flush=True)
  return out


def _report(runs, procs):
  ok = True
  if runs:
    rss = [r[0] for r in runs]
    grow = slope(rss[FLAGS.settle:])
    print(f"\nin-process, {len(runs)} runs x {FLAGS.steps} steps of {FLAGS.config}:")
    settled = max(FLAGS.settle, 1)
    print(f"  RSS after run 1 / {settled} / {len(rss)}: {rss[0]:.0f} / "
          f"{rss[settled - 1]:.0f} / {rss[-1]:.0f} MB; slope over runs "
          f"{FLAGS.settle + 1}-{len(rss)}: {grow:+.2f} MB/run (limit {FLAGS.max_growth_mb})")
    print(f"  train step traced per run: {sorted({r[1] for r in runs})}; Run objects still "
          f"alive after gc: {max(r[3] for r in runs)}; seconds per run: median "
          f"{statistics.median(r[2] for r in runs):.1f}")
    ok = (grow <= FLAGS.max_growth_mb and all(r[1] == 1 for r in runs)
          and all(r[3] == 0 for r in runs))
  if procs:
    peaks = [p for p, _ in procs]
    print(f"separate processes, {len(procs)} runs: peak RSS median {statistics.median(peaks):.0f}"
          f" MB (min {min(peaks):.0f}, max {max(peaks):.0f}); slope {slope(peaks):+.2f} MB/run;"
          f" seconds per run: median {statistics.median(t for _, t in procs):.1f}")
  print("PASS" if ok else "FAIL: memory grows from run to run, a step was retraced, or "
        "a finished run is still alive")
  return ok


def _main():
  if FLAGS.runs <= FLAGS.settle + 1:
    raise UserError(f"--runs: {FLAGS.runs} is not allowed; must be > --settle + 1")
  with tempfile.TemporaryDirectory(prefix="tfgan1_soak_") as folder:
    runs = in_process(folder) if FLAGS.in_process else []
    procs = separate(folder) if FLAGS.processes else []
  if not _report(runs, procs):
    sys.exit(1)


def main(argv):
  run_tool(_main, argv)


if __name__ == "__main__":
  app.run(main)
