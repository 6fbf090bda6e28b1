"""Times the train step on the real input pipeline against a constant batch.

    python tools/bench_input.py --config configs/mnist_dcgan.yaml --steps 50 --rounds 5

Builds a run as `python -m tfgan1.run` does (nothing is written), then alternates
rounds of `--steps` train steps fed by the config's dataset with rounds fed one
fixed batch (`tf.data.Dataset.from_tensors(batch).repeat()`), in one process, so
both see the same machine load. If the two rates agree, the input pipeline is
not what limits training. Reports median and min/max steps/s for each and the
ratio of the medians (real / constant).
"""
import statistics
import sys
import time

from absl import app
from absl import flags

from tfgan1.errors import UserError

FLAGS = flags.FLAGS
flags.DEFINE_string("config", None, "YAML run config.")
flags.DEFINE_multi_string("set", [], "Override a config key: a.b=value (repeatable).")
flags.DEFINE_integer("steps", 50, "Train steps per timed round.")
flags.DEFINE_integer("rounds", 5, "Timed rounds per input (alternating).")
flags.DEFINE_integer("warmup", 10, "Untimed steps per input first (tracing, caches).")


def _time_steps(run, iterator, steps, to_host):
  start = time.perf_counter()
  metrics = None
  for _ in range(steps):
    metrics = run.trainer.train_step(iterator, run.rng)
  to_host(metrics)  # waits for the last step, so the round is fully timed
  return steps / (time.perf_counter() - start)


def _summary(rates):
  return (f"median {statistics.median(rates):.2f} steps/s "
          f"(min {min(rates):.2f}, max {max(rates):.2f})")


def _main():
  if not FLAGS.config:
    raise UserError("--config: missing; give a YAML file, e.g. --config configs/mnist_dcgan.yaml")
  for flag in ("steps", "rounds"):
    if getattr(FLAGS, flag) < 1:
      raise UserError(f"--{flag}: {getattr(FLAGS, flag)} is not allowed; must be >= 1")
  if FLAGS.warmup < 0:
    raise UserError(f"--warmup: {FLAGS.warmup} is not allowed; must be >= 0")
  from tfgan1 import config as config_lib  # pylint: disable=g-import-not-at-top
  from tfgan1 import plugin_loader  # pylint: disable=g-import-not-at-top
  config = config_lib.load(FLAGS.config, FLAGS.set)
  plugin_loader.load_all(config.plugins)
  from tfgan1 import reporting  # pylint: disable=g-import-not-at-top  (imports TF)
  from tfgan1 import train  # pylint: disable=g-import-not-at-top
  tf = train.tf
  run = train.Run(config)
  batch = next(run.iterator)
  constant = iter(tf.data.Dataset.from_tensors(batch).repeat())
  inputs = {"real": run.iterator, "constant": constant}
  rates = {name: [] for name in inputs}
  for iterator in inputs.values():
    if FLAGS.warmup:
      _time_steps(run, iterator, FLAGS.warmup, reporting.to_host)
  for _ in range(FLAGS.rounds):
    for name, iterator in inputs.items():
      rates[name].append(_time_steps(run, iterator, FLAGS.steps, reporting.to_host))
  print(f"config {FLAGS.config}, batch {config.train.batch_size}, "
        f"{FLAGS.rounds} rounds x {FLAGS.steps} steps per input, alternating")
  for name in inputs:
    print(f"{name:>8}: {_summary(rates[name])}  "
          f"[{', '.join(f'{r:.2f}' for r in rates[name])}]")
  ratio = statistics.median(rates["real"]) / statistics.median(rates["constant"])
  print(f"   ratio: real / constant = {ratio:.3f}")


def main(argv):
  if len(argv) > 1:
    print(f"error: unexpected arguments {argv[1:]}", file=sys.stderr)
    sys.exit(2)
  try:
    _main()
  except UserError as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(2)


if __name__ == "__main__":
  app.run(main)
