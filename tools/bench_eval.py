"""Times one evaluation against train steps, interleaved in one process.

    python tools/bench_eval.py --config configs/ring8.yaml --steps 200 --rounds 5
    python tools/bench_eval.py --config configs/mnist_dcgan.yaml --steps 20 --rounds 5

Builds a run as `python -m tfgan1.run` does (nothing is written) and runs its
evaluators (the config's `eval` section) once untimed-apart: that first call
pays the one-time costs (loading a classifier, real-data features) and is
reported on its own. Then it alternates `--steps` train steps with one
evaluation, `--rounds` times, so both see the same machine load. It reports the
seconds per evaluation, the seconds per train step, and the share of a run of
the config's `train.steps` that evaluation takes at `eval.every` (0: the final
evaluation only), first-call costs included.
"""
import statistics
import time

from absl import app
from absl import flags

from tfgan1 import benchmark
from tfgan1.errors import run_tool

FLAGS = flags.FLAGS
flags.DEFINE_string("config", None, "YAML run config.")
flags.DEFINE_multi_string("set", [], "Override a config key: a.b=value (repeatable).")
flags.DEFINE_integer("steps", 50, "Train steps per timed round.")
flags.DEFINE_integer("rounds", 5, "Timed rounds (train steps, then one evaluation).")


def _timed(fn):
  start = time.perf_counter()
  fn()
  return time.perf_counter() - start


def _spread(values, unit):
  return (f"median {statistics.median(values):.3g} {unit} (min {min(values):.3g}, "
          f"max {max(values):.3g})")


def _main():
  benchmark.check_at_least(1, steps=FLAGS.steps, rounds=FLAGS.rounds)
  run = benchmark.build_run(FLAGS.config, FLAGS.set)
  cfg = run.config
  evaluate = lambda: run.evaluation(run.sampler)
  benchmark.time_steps(run, run.iterator, 5)  # tracing, outside every timing
  first = _timed(evaluate)
  evals, steps = [], []
  for _ in range(FLAGS.rounds):
    steps.append(1.0 / benchmark.time_steps(run, run.iterator, FLAGS.steps))
    evals.append(_timed(evaluate))
  names = ", ".join(n for n, _ in run.evaluation.evaluators) or "none"
  eval_s, step_s = statistics.median(evals), statistics.median(steps)
  count = (cfg.train.steps - 1) // cfg.eval.every + 1 if cfg.eval.every else 1
  cost = first - eval_s + count * eval_s
  share = cost / (cost + cfg.train.steps * step_s)
  print(f"config {FLAGS.config}: evaluators {names}, eval.num_samples "
        f"{cfg.eval.num_samples}, {FLAGS.rounds} rounds of {FLAGS.steps} steps + 1 eval")
  print(f"first evaluation (one-time costs included): {first:.3g} s")
  print(f"evaluation: {_spread(evals, 's')}")
  print(f"train step: {_spread(steps, 's')}")
  print(f"a run of {cfg.train.steps} steps with eval.every={cfg.eval.every}: {count} "
        f"evaluation(s), {100 * share:.1f}% of its time")


def main(argv):
  run_tool(_main, argv)


if __name__ == "__main__":
  app.run(main)
