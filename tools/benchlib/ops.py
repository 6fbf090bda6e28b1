"""`bench.py ops`: where a step's time goes, per TensorFlow op type, per variant.

Each variant runs `steps` steps under the TensorFlow profiler
(`tf.profiler.experimental.start/stop`); its XSpace file is read back with
TensorFlow's own protobuf (`xplane_pb2`) and every op event on the host's compute
threads is summed by op type. An op event is named `node:OpType`; the executor's
own events (`ExecutorState::Process`, ...) enclose them and are not counted.
Times are per step, summed over threads, so ops that overlap on two threads
count twice: the column shows work, and the wall time is given beside it.
"""
import collections
import glob
import os
import tempfile
import time

from benchlib import report
from benchlib import timing
from benchlib import variants as variants_lib
import toolkit


def main(flags, log):
  """The ops mode: (JSON payload, header -> Markdown)."""
  steps = flags.steps or 10
  toolkit.check_at_least(1, steps=steps)
  rows = []
  for model, jit in variants_lib.model_jits(flags):
    built = [variants_lib.build(model, name, jit, flags.set) for name in flags.variants]
    timing.interleave(built, 1, 1, flags.warmup)  # traced and compiled before profiling
    with tempfile.TemporaryDirectory() as logdir:
      for variant in built:
        table, wall = profile(variant, steps, os.path.join(logdir, f"{len(rows)}"))
        rows.append({"model": model, "jit_compile": jit, "variant": variant.name,
                     "wall_ms": wall, "ops": table})
        log(f"{model} XLA {jit} {variant.name}: {wall:.1f} ms/step, "
            f"{sum(v['ms'] for v in table.values()):.1f} ms of ops")
  return {"rows": rows}, lambda header: report.ops_markdown(header, rows, top_ops)


def _xspace(path):
  from tensorflow.tsl.profiler.protobuf import xplane_pb2  # pylint: disable=g-import-not-at-top
  space = xplane_pb2.XSpace()
  with open(path, "rb") as f:
    space.ParseFromString(f.read())
  return space


def op_times(xspace_path):
  """{op type: [count, picoseconds]} of the op events on the host's compute lines."""
  out = collections.defaultdict(lambda: [0, 0])
  for plane in _xspace(xspace_path).planes:
    if not plane.name.startswith("/host:CPU"):
      continue
    names = plane.event_metadata
    for line in plane.lines:
      if not line.name.startswith("tf_Compute") and not line.name.startswith("tf_"):
        continue
      for event in line.events:
        name = names[event.metadata_id].name
        if ":" not in name or "::" in name:
          continue
        op_type = name.rsplit(":", 1)[1]
        out[op_type][0] += 1
        out[op_type][1] += event.duration_ps
  return dict(out)


def profile(variant, steps, logdir):
  """(op table per step, wall ms per step) of `steps` traced steps of `variant`."""
  tf = timing.tensorflow()
  tf.profiler.experimental.start(logdir)  # a fresh folder: one trace file
  start = time.perf_counter()
  out = None
  for _ in range(steps):
    out = variant.step()
  timing.fetch(out)
  wall = 1000.0 * (time.perf_counter() - start) / steps
  tf.profiler.experimental.stop()
  (path,) = glob.glob(os.path.join(logdir, "plugins", "profile", "*", "*.xplane.pb"))
  table = {k: {"count": c / steps, "ms": ps / 1e9 / steps} for k, (c, ps) in op_times(path).items()}
  return table, wall


def top_ops(tables, limit):
  """The op types with the most time in any variant, most first."""
  worst = collections.Counter()
  for table in tables.values():
    for op, v in table.items():
      worst[op] = max(worst[op], v["ms"])
  return [op for op, _ in worst.most_common(limit)]
