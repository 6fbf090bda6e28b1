"""The GPU check behind tools/gpu_check.sh: steps/s and peak memory per variant.

    bash tools/gpu_check.sh [--out gpu_check.json]

For mnist_dcgan and cifar10_sngan (random 32x32 images when CIFAR-10 is not
prepared here), every update rule x {float32, mixed_float16} x XLA {off, on} is
built from the same seed, warmed up (tracing, XLA compilation), then timed in
interleaved rounds in one process (benchlib/timing.py, the harness of
`bench.py`), so every variant sees the same load. Peak
GPU memory (tf.config.experimental.get_memory_info) is read after each variant's
rounds, with the peak reset before them. The JSON file is rewritten after each
config, so a run cut short keeps what it measured.

Without a GPU it runs a small version (fewer steps, batch 8, narrow networks,
said in the output): that checks the script, not the speed.
"""
import json
import os
import statistics
import sys
import time

from absl import app
from absl import flags

from benchlib import timing
from toolkit import check_at_least, run_tool

FLAGS = flags.FLAGS
flags.DEFINE_string("out", "gpu_check.json", "JSON file to write.")
flags.DEFINE_list("configs", ["mnist_dcgan", "cifar10_sngan"], "configs/<name>.yaml to time.")
flags.DEFINE_list("rules", ["one_step", "simultaneous", "alternating"], "train.rule values.")
flags.DEFINE_list("precisions", ["float32", "mixed_float16"], "precision.name values.")
flags.DEFINE_list("jit", ["false", "true"], "train.jit_compile values.")
flags.DEFINE_integer("steps", None, "Steps per timed round (GPU 30, CPU 2).")
flags.DEFINE_integer("rounds", None, "Timed rounds per variant (GPU 3, CPU 1).")
flags.DEFINE_integer("warmup", None, "Untimed steps per variant first (GPU 3, CPU 1).")

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_RANDOM = os.path.join(_ROOT, "tools", "random_images.py")
# CPU: a check that the script works end to end, not a speed measurement.
_CPU_SMALL = {"mnist_dcgan": ["generator.base_channels=8", "discriminator.base_channels=8"],
              "cifar10_sngan": ["generator.channels=16", "discriminator.channels=16"]}


def _device(tf):
  gpus = tf.config.list_physical_devices("GPU")
  if not gpus:
    return None, "CPU (no GPU visible)"
  details = tf.config.experimental.get_device_details(gpus[0])
  return "GPU:0", f"{details.get('device_name', gpus[0].name)} ({len(gpus)} visible, using 1)"


def _cifar10_prepared():
  try:
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
    builder = tfds.builder("cifar10")
    return os.path.exists(os.path.join(builder.data_dir, "dataset_info.json"))
  except Exception:  # pylint: disable=broad-except  (not installed, no data, ...)
    return False


def _data_overrides(name):
  """(overrides, what the data is): noise images stand in for absent CIFAR-10."""
  if name == "cifar10_sngan" and not _cifar10_prepared():
    return ([f"plugins=[{_RANDOM}]", "data={name: random_images, size: 32, channels: 3}"],
            "random 32x32 images (CIFAR-10 is not prepared here)")
  return [], "the config's own data"


def _measure(name, device, steps, rounds, warmup, small):
  tf = timing.tensorflow()
  overrides, data = _data_overrides(name)
  if small:
    overrides += _CPU_SMALL.get(name, []) + ["train.batch_size=8"]
  config = os.path.join(_ROOT, "configs", f"{name}.yaml")
  print(f"{name}: data: {data}", flush=True)
  variants = {}
  for rule in FLAGS.rules:
    for precision in FLAGS.precisions:
      for jit in FLAGS.jit:
        run = timing.build_run(config, overrides + [
            f"train.rule={rule}", f"precision.name={precision}", f"train.jit_compile={jit}"])
        variants[(rule, precision, jit)] = timing.run_variant(f"{rule} {precision} {jit}", run)
  keys = {v.name: key for key, v in variants.items()}
  start = time.perf_counter()
  timing.interleave(list(variants.values()), 1, 0, warmup)  # warm-up only
  print(f"{name}: {len(variants)} variants built and warmed up in "
        f"{time.perf_counter() - start:.0f} s", flush=True)
  peaks = {}

  def read_peak(variant_name):
    if device:
      peak = tf.config.experimental.get_memory_info(device)["peak"]
      key = keys.get(variant_name)
      peaks[key] = max(peaks.get(key, 0), peak)
      tf.config.experimental.reset_memory_stats(device)

  read_peak(None)  # resets the peak before the first timed round
  times = timing.interleave(list(variants.values()), steps, rounds, 0, read_peak)
  batch = next(iter(variants.values())).run.config.train.batch_size
  rows = []
  for key, variant in variants.items():
    rule, precision, jit = key
    values = [1000.0 / ms for ms in times[variant.name]]
    rows.append({"config": name, "data": data, "batch_size": batch, "rule": rule,
                 "precision": precision, "jit_compile": jit == "true",
                 "steps_per_s_median": statistics.median(values), "steps_per_s": values,
                 "peak_memory_bytes": peaks.get(key)})
    memory = f"{peaks[key] / 2**20:8.1f} MiB peak" if device else "peak memory: n/a on CPU"
    print(f"{name:>14} {rule:>12} {precision:>14} XLA {jit:>5}: "
          f"{timing.summary(times[variant.name])}  {memory}", flush=True)
  return rows


def _main():
  tf = timing.tensorflow()
  device, described = _device(tf)
  small = device is None
  steps = FLAGS.steps or (2 if small else 30)
  rounds = FLAGS.rounds or (1 if small else 3)
  warmup = FLAGS.warmup if FLAGS.warmup is not None else (1 if small else 3)
  check_at_least(1, steps=steps, rounds=rounds, warmup=warmup)
  print(f"device: {described}; TensorFlow {tf.__version__}", flush=True)
  if small:
    print(f"no GPU: a small CPU run ({steps} steps x {rounds} round(s), batch 8, narrow "
          "networks) that checks this script, not the speed", flush=True)
  result = {"device": described, "cpu_check_only": small, "steps": steps,
            "rounds": rounds, "warmup": warmup, "results": []}
  start = time.perf_counter()
  for name in FLAGS.configs:
    result["results"] += _measure(name, device, steps, rounds, warmup, small)
    result["seconds"] = round(time.perf_counter() - start, 1)
    with open(FLAGS.out, "w", encoding="utf-8") as f:
      json.dump(result, f, indent=1)
  print(f"wrote {FLAGS.out} after {result['seconds']} s", file=sys.stderr)


def main(argv):
  run_tool(_main, argv)


if __name__ == "__main__":
  app.run(main)
