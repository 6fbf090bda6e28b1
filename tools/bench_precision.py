"""Steps per second of one config under each precision policy and with XLA on
and off, interleaved in one process.

    python tools/bench_precision.py --config configs/mnist_dcgan.yaml --steps 20 --rounds 5
    python tools/bench_precision.py --config configs/ring8.yaml --precisions float32 --steps 200

A config whose data is absent here runs on noise images of the same shape:

    python tools/bench_precision.py --config configs/cifar10_sngan.yaml \\
        --set 'data={name: random_images, size: 32}' --set 'plugins=[tools/random_images.py]'

Builds one run per (precision, train.jit_compile) pair from the same seed and
data, warms each up (tracing, XLA compilation), then times rounds of `--steps`
steps, cycling through the variants each round so all of them see the same
machine load. Prints median and min/max steps/s and each median relative to
the first variant's (float32, XLA off by default).
"""
import itertools

from absl import app
from absl import flags

from tfgan1 import benchmark
from tfgan1.errors import run_tool

FLAGS = flags.FLAGS
benchmark.define_flags(flags, steps=20, rounds=5, warmup=5)
flags.DEFINE_list("precisions", ["float32", "mixed_bfloat16"], "precision.name values.")
flags.DEFINE_list("jit", ["false", "true"], "train.jit_compile values.")


def _main():
  benchmark.check_flags(FLAGS)
  runs = {}
  for precision, jit in itertools.product(FLAGS.precisions, FLAGS.jit):
    extra = [f"precision.name={precision}", f"train.jit_compile={jit}"]
    runs[f"{precision}, jit_compile {jit}"] = benchmark.build_run(
        FLAGS.config, FLAGS.set + extra)
  rates = benchmark.interleave(runs, FLAGS.steps, FLAGS.rounds, FLAGS.warmup)
  config = next(iter(runs.values())).config
  print(f"config {FLAGS.config} {' '.join(FLAGS.set)}, rule {config.train.rule}, "
        f"batch {config.train.batch_size}, {FLAGS.rounds} rounds x {FLAGS.steps} steps")
  benchmark.print_rates(rates, next(iter(rates)))


def main(argv):
  run_tool(_main, argv)


if __name__ == "__main__":
  app.run(main)
