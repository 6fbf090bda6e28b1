"""Steps per second of each update rule on one config, interleaved in one process.

    python tools/bench_rules.py --config configs/mnist_dcgan.yaml --steps 30 --rounds 5

Builds one run per rule variant (same seed, same data), then times rounds of
`--steps` train steps, cycling through the variants each round so all of them
see the same machine load. Variants: one_step (stateless form), one_step
(classic form), simultaneous, alternating 1:1. One step of each updates D once
and G once. Prints median and min/max steps/s and each rate relative to the
alternating rule.
"""
from absl import app
from absl import flags

from tfgan1 import benchmark
from tfgan1.errors import run_tool

FLAGS = flags.FLAGS
benchmark.define_flags(flags, steps=30, rounds=5, warmup=5)

VARIANTS = {
    "one_step/stateless": ["train.rule=one_step", "train.one_step_form=stateless"],
    "one_step/classic": ["train.rule=one_step", "train.one_step_form=classic"],
    "simultaneous": ["train.rule=simultaneous"],
    "alternating 1:1": ["train.rule=alternating", "train.n_d=1", "train.n_g=1"],
}


def _main():
  benchmark.check_flags(FLAGS)
  runs = {name: benchmark.build_run(FLAGS.config, FLAGS.set + extra)
          for name, extra in VARIANTS.items()}
  rates = benchmark.interleave(runs, FLAGS.steps, FLAGS.rounds, FLAGS.warmup)
  config = next(iter(runs.values())).config
  print(f"config {FLAGS.config} {' '.join(FLAGS.set)}, batch {config.train.batch_size}, "
        f"jit_compile {config.train.jit_compile}, {FLAGS.rounds} rounds x {FLAGS.steps} steps")
  benchmark.print_rates(rates, "alternating 1:1")


def main(argv):
  run_tool(_main, argv)


if __name__ == "__main__":
  app.run(main)
