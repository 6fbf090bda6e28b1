"""Steps per second of `train.backend: tf1_graph` against `tf2`, interleaved in one process.

    python tools/bench_backends.py --config configs/ring8.yaml --steps 200 --rounds 5
    python tools/bench_backends.py --config configs/mnist_dcgan.yaml --steps 20 --rounds 5

Builds one run per variant (same seed, same data): for each rule in `--rules`,
tf2, tf2 with `train.jit_compile=true` (XLA) and tf1_graph (which refuses
jit_compile: its graph has no tf.function to compile). Then it times rounds of
`--steps` train steps, cycling through the variants each round so all of them
see the same machine load. Prints median and min/max steps/s, and each rate
relative to tf2 of the same rule.
"""
import statistics

from absl import app
from absl import flags

from tfgan1 import benchmark
from tfgan1.errors import run_tool

FLAGS = flags.FLAGS
benchmark.define_flags(flags, steps=30, rounds=5, warmup=5)
flags.DEFINE_list("rules", ["one_step", "simultaneous"], "Update rules to time.")

BACKENDS = {
    "tf2": ["train.backend=tf2"],
    "tf2 + XLA": ["train.backend=tf2", "train.jit_compile=true"],
    "tf1_graph": ["train.backend=tf1_graph"],
}


def _main():
  benchmark.check_flags(FLAGS)
  runs = {f"{rule} / {name}": benchmark.build_run(FLAGS.config,
                                                  FLAGS.set + [f"train.rule={rule}"] + extra)
          for rule in FLAGS.rules for name, extra in BACKENDS.items()}
  rates = benchmark.interleave(runs, FLAGS.steps, FLAGS.rounds, FLAGS.warmup)
  config = next(iter(runs.values())).config
  print(f"config {FLAGS.config} {' '.join(FLAGS.set)}, batch {config.train.batch_size}, "
        f"{FLAGS.rounds} rounds x {FLAGS.steps} steps")
  for name, values in rates.items():
    base = statistics.median(rates[f"{name.split(' / ')[0]} / tf2"])
    print(f"{name:>28}: {benchmark.summary(values)}  x{statistics.median(values) / base:.2f}")


def main(argv):
  run_tool(_main, argv)


if __name__ == "__main__":
  app.run(main)
