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

from absl import app
from absl import flags

from tfgan1 import benchmark
from tfgan1.errors import run_tool

FLAGS = flags.FLAGS
benchmark.define_flags(flags, steps=50, rounds=5, warmup=10, what="input")


def _main():
  benchmark.check_flags(FLAGS)
  run = benchmark.build_run(FLAGS.config, FLAGS.set)
  tf = benchmark.tensorflow()
  batch = next(run.iterator)
  constant = iter(tf.data.Dataset.from_tensors(batch).repeat())
  inputs = {"real": run.iterator, "constant": constant}
  rates = {name: [] for name in inputs}
  for iterator in inputs.values():
    if FLAGS.warmup:
      benchmark.time_steps(run, iterator, FLAGS.warmup)
  for _ in range(FLAGS.rounds):
    for name, iterator in inputs.items():
      rates[name].append(benchmark.time_steps(run, iterator, FLAGS.steps))
  print(f"config {FLAGS.config}, batch {run.config.train.batch_size}, "
        f"{FLAGS.rounds} rounds x {FLAGS.steps} steps per input, alternating")
  for name in inputs:
    print(f"{name:>8}: {benchmark.summary(rates[name])}")
  ratio = statistics.median(rates["real"]) / statistics.median(rates["constant"])
  print(f"   ratio: real / constant = {ratio:.3f}")


def main(argv):
  run_tool(_main, argv)


if __name__ == "__main__":
  app.run(main)
