"""Timing helpers shared by the benchmark tools (tools/bench_*.py).

Rates are compared inside one process with interleaved rounds, so every variant
sees the same machine load; absolute numbers across runs mean little on shared
machines.
"""
import statistics
import time

from tfgan1.errors import UserError


def build_run(config_path, overrides):
  """A `train.Run` from a YAML file and `--set` strings, as `tfgan1.run` builds it."""
  from tfgan1 import config as config_lib  # pylint: disable=g-import-not-at-top
  from tfgan1 import plugin_loader  # pylint: disable=g-import-not-at-top
  if not config_path:
    raise UserError("--config: missing; give a YAML file, e.g. --config configs/mnist_dcgan.yaml")
  config = config_lib.load(config_path, overrides)
  plugin_loader.load_all(config.plugins)
  from tfgan1 import train  # pylint: disable=g-import-not-at-top  (imports TF)
  return train.Run(config)


def time_steps(run, iterator, steps):
  """Steps per second over `steps` train steps (waits for the last one)."""
  start = time.perf_counter()
  metrics = None
  for _ in range(steps):
    metrics = run.trainer.train_step(iterator, run.rng)
  {k: float(v) for k, v in metrics.items()}  # pylint: disable=expression-not-assigned
  return steps / (time.perf_counter() - start)


def interleaved(runs, steps, rounds, warmup):
  """{name: [steps/s per round]} for each run of `runs` ({name: train.Run}).

  Every run first takes `warmup` untimed steps (tracing); then each round times
  `steps` steps of every run in turn, so all see the same machine load.
  """
  for run in runs.values():
    if warmup:
      time_steps(run, run.iterator, warmup)
  rates = {name: [] for name in runs}
  for _ in range(rounds):
    for name, run in runs.items():
      rates[name].append(time_steps(run, run.iterator, steps))
  return rates


def summary(rates):
  return (f"median {statistics.median(rates):.2f} steps/s "
          f"(min {min(rates):.2f}, max {max(rates):.2f})  "
          f"[{', '.join(f'{r:.2f}' for r in rates)}]")


def print_rates(rates, base, width):
  """One line per variant: its summary and its median over `base`'s median."""
  reference = statistics.median(rates[base])
  for name, values in rates.items():
    print(f"{name:>{width}}: {summary(values)}  x{statistics.median(values) / reference:.2f}")


def check_at_least(minimum, **values):
  """One-line errors for flags below `minimum`: `check_at_least(1, steps=...)`."""
  for name, value in values.items():
    if value < minimum:
      raise UserError(f"--{name}: {value} is not allowed; must be >= {minimum}")


def tensorflow():
  from tfgan1 import tfimport  # pylint: disable=g-import-not-at-top
  return tfimport.tensorflow()
