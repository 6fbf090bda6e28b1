"""The one timing harness of the benchmark tools (`bench.py`, `gpu_check.py`).

A `Variant` is a named callable running one train update. `interleave` warms
every variant up, then times rounds of `steps` updates, visiting every variant
in each round, so all of them see the same machine load: rates are compared
inside one process; absolute numbers across runs mean little on shared
machines. A round ends when the last update's first scalar reaches the host.
"""
import dataclasses
import statistics
import time
from typing import Any, Callable, Optional


@dataclasses.dataclass
class Variant:
  name: str
  run: Any  # the backend run it updates
  step: Callable[[], Any]  # one update; returns something to fetch
  # n updates in one call, as the run loop makes them (`Backend.train(n)`), if timed so
  block: Optional[Callable[[int], Any]] = None


def tensorflow():
  from tfgan1 import tfimport  # pylint: disable=g-import-not-at-top
  return tfimport.tensorflow()


def build_run(config_path, overrides):
  """The backend run of a YAML file and `--set` strings, as `tfgan1.run` builds it."""
  from tfgan1 import config as config_lib  # pylint: disable=g-import-not-at-top
  from tfgan1.registry import loader as plugin_loader  # pylint: disable=g-import-not-at-top
  config = config_lib.load(config_path, overrides)
  plugin_loader.load_all(config.plugins)
  from tfgan1 import backends  # pylint: disable=g-import-not-at-top  (imports TF)
  from tfgan1.engine import distribute  # pylint: disable=g-import-not-at-top
  return backends.make(config, distribute.make(config))


def run_variant(name, run, blocks=False):
  """A variant stepping a built run as the run loop does, one step per call
  (`Backend.train(1)`, whatever its backend), or with `blocks` a round's steps
  in one call (`Backend.train(steps)`, as with `train.steps_per_call` >= steps)."""
  return Variant(name, run, lambda: run.train(1), run.train if blocks else None)


def fetch(value):
  """Waits for a step's result: its first scalar reaches the host."""
  tf = tensorflow()
  first = tf.nest.flatten(value)[0]
  return float(tf.reshape(first, [-1])[0])


def time_variant(variant, steps):
  """Milliseconds per step over `steps` steps (waits for the last one)."""
  start = time.perf_counter()
  if variant.block is not None:
    out = variant.block(steps)
  else:
    for _ in range(steps):
      out = variant.step()
  fetch(out)
  return 1000.0 * (time.perf_counter() - start) / steps


def interleave(built, steps, rounds, warmup, between=None):
  """{name: [ms per step, one per round]}; every round visits every variant.
  `between(name)` is called after each timed round (e.g. to read peak memory)."""
  for variant in built:
    for _ in range(warmup):
      fetch(variant.step())
    if warmup and variant.block is not None:
      fetch(variant.block(steps))  # a round's blocks (tf1_graph traces each block size)
  times = {v.name: [] for v in built}
  for _ in range(rounds):
    for variant in built:
      times[variant.name].append(time_variant(variant, steps))
      if between is not None:
        between(variant.name)
  return times


def stats(ms):
  """The row fields of one variant's per-round milliseconds per step."""
  median = statistics.median(ms)
  return {"ms_median": median, "ms_min": min(ms), "ms_max": max(ms), "ms": ms,
          "steps_per_s": 1000.0 / median}


def compare(built, base_of, steps, rounds, warmup, labels=None):
  """Rows of `interleave(built, ...)`: each variant's `stats`, its `labels[name]`
  and `speedup` = the median ms of its base (`base_of(name)`) over its own."""
  times = interleave(built, steps, rounds, warmup)
  rows = []
  for name, ms in times.items():
    base = base_of(name)
    rows.append({"variant": name, **(labels or {}).get(name, {}), **stats(ms), "base": base,
                 "speedup": statistics.median(times[base]) / statistics.median(ms)})
  return rows


def summary(ms):
  """`median N steps/s (min, max) [each round]` of per-round ms per step."""
  rates = [1000.0 / m for m in ms]
  return (f"median {statistics.median(rates):.2f} steps/s "
          f"(min {min(rates):.2f}, max {max(rates):.2f})  "
          f"[{', '.join(f'{r:.2f}' for r in rates)}]")
