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
flags.DEFINE_string("config", None, "YAML run config.")
flags.DEFINE_multi_string("set", [], "Override a config key: a.b=value (repeatable).")
flags.DEFINE_integer("steps", 30, "Train steps per timed round.")
flags.DEFINE_integer("rounds", 5, "Timed rounds per variant.")
flags.DEFINE_integer("warmup", 5, "Untimed steps per variant first (tracing).")

VARIANTS = {
    "one_step/stateless": ["train.rule=one_step", "train.one_step_form=stateless"],
    "one_step/classic": ["train.rule=one_step", "train.one_step_form=classic"],
    "simultaneous": ["train.rule=simultaneous"],
    "alternating 1:1": ["train.rule=alternating", "train.n_d=1", "train.n_g=1"],
}


def _main():
  benchmark.check_at_least(1, steps=FLAGS.steps, rounds=FLAGS.rounds)
  benchmark.check_at_least(0, warmup=FLAGS.warmup)
  runs = {name: benchmark.build_run(FLAGS.config, FLAGS.set + extra)
          for name, extra in VARIANTS.items()}
  rates = benchmark.interleaved(runs, FLAGS.steps, FLAGS.rounds, FLAGS.warmup)
  config = next(iter(runs.values())).config
  print(f"config {FLAGS.config} {' '.join(FLAGS.set)}, batch {config.train.batch_size}, "
        f"jit_compile {config.train.jit_compile}, {FLAGS.rounds} rounds x {FLAGS.steps} steps")
  benchmark.print_rates(rates, "alternating 1:1", 20)


def main(argv):
  run_tool(_main, argv)


if __name__ == "__main__":
  app.run(main)
