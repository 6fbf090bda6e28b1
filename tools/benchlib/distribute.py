"""`bench.py distribute`: one device against `distribute.strategy: mirrored`.

On a machine without GPUs the CPU is split into `--cpus` logical devices first
(before TensorFlow sets up its devices) and `mirrored` runs over all of them;
with GPUs it runs over all local GPUs. Both runs take the same global
`train.batch_size`, so the mirrored one gives each replica 1/N of it. Per
model and XLA setting (`--jit`) the two are timed in interleaved rounds in one
process (`timing.compare`); speedups are against the one-device run.
"""
from benchlib import models
from benchlib import report
from benchlib import timing
from benchlib import variants as variants_lib
import toolkit


def mirrored_devices(tf, cpus):
  """The devices `mirrored` runs on: [] (every local GPU), else `cpus` logical CPUs.
  Call it before TensorFlow's runtime starts (before any run is built)."""
  if tf.config.list_physical_devices("GPU"):
    return []  # MirroredStrategy's own default: every local GPU
  cpu = tf.config.list_physical_devices("CPU")[0]
  tf.config.set_logical_device_configuration(
      cpu, [tf.config.LogicalDeviceConfiguration()] * cpus)
  return [f"/cpu:{i}" for i in range(cpus)]


def measure(model, devices, jits, steps, rounds, warmup, extra=(), log=print):
  """Rows of the one-device and the mirrored run of `model`, per XLA setting."""
  path, overrides, _ = models.preset(model)
  mirrored = ["distribute.strategy=mirrored", f"distribute.devices=[{', '.join(devices)}]"]
  rows = []
  for jit in jits:
    xla = [f"train.jit_compile={str(jit).lower()}"]
    suffix = ", XLA on" if jit else ""
    built, labels = [], {}
    for name, keys in (("one device", []), ("mirrored", mirrored)):
      run = timing.build_run(path, overrides + list(extra) + keys + xla)
      built.append(timing.run_variant(name + suffix, run))
      strategy = getattr(run, "strategy", None)
      replicas = strategy.num_replicas_in_sync if strategy is not None else 1
      labels[name + suffix] = {"model": model, "strategy": run.config.distribute.strategy,
                               "jit_compile": jit, "replicas": replicas,
                               "global_batch": run.config.train.batch_size}
    rows += timing.compare(built, lambda name, base=built[0].name: base, steps, rounds, warmup,
                           labels)
  for r in rows:
    log(f"{model} {r['variant']} ({r['replicas']} replica(s)): {timing.summary(r['ms'])}  "
        f"x{r['speedup']:.2f}")
  return rows


def main(flags, log):
  """The distribute mode: (JSON payload, header -> Markdown)."""
  steps = toolkit.timed_steps(flags, 50)
  toolkit.check_at_least(2, cpus=flags.cpus)
  jits = {model: variants_lib.jits(flags.jit, model, flags.set) for model in flags.models}
  devices = mirrored_devices(timing.tensorflow(), flags.cpus)
  rows = []
  for model in flags.models:
    rows += measure(model, devices, jits[model], steps, flags.rounds, flags.warmup, flags.set,
                    log)
  payload = {"devices": devices or "all GPUs", "rows": rows}
  return payload, lambda header: report.grid_markdown(header, rows,
                                                      extra=("replicas", "global_batch"))
