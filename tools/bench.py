"""One benchmark tool: speed, memory and quality of the update rules.

    python tools/bench.py speed   [--models ring8,mnist_dcgan,cifar10_sngan] [--jit false,true]
    python tools/bench.py memory  [--models ...] [--variants ...]
    python tools/bench.py quality [--datasets ring8,grid25] [--seeds 10] [--seconds 120]
    python tools/bench.py curve   [--curve_model mnist_dcgan_sn] [--seeds 3] [--seconds 240]
    python tools/bench.py ops     [--models mnist_dcgan] [--variants one_step/fused,ref/tf_tutorial]
    python tools/bench.py flops   [--models mnist_dcgan] [--variants one_step/shared,ref/keras_io]

speed: milliseconds per step of each variant (the engine's rules: one_step in its
four forms, simultaneous, alternating 1:1; the TensorFlow-tutorial and keras.io
hand-written steps; the bare one-step loop on a constant batch), all built from
the same seed and timed in interleaved rounds in one process; then the CLI run at
the config's own intervals against the bare loop. memory: peak memory per variant,
one subprocess each. quality: modes, high-quality share and reverse KL over seeds
per rule, with and without R1, at equal wall time, beside PacGAN's Table 1.
curve: an image config's eval metric (MNIST-FD) against calibrated wall time per
rule, over seeds, as a table and OUT/curve.png.
ops: time per step by TensorFlow op type of each variant, from a profiler trace.
flops: the arithmetic of each variant's step (convolutions and dot products),
counted in the program XLA compiles for it, one subprocess each.
Each mode writes OUT/<mode>.json and OUT/<mode>.md (and prints the table).
"""
import json
import os
import platform
import sys
import time

from absl import app
from absl import flags

from benchlib import models
from benchlib import report
from benchlib import variants as variants_lib
from tfgan1 import benchmark
from tfgan1.errors import UserError, run_tool

MODES = ("speed", "memory", "quality", "curve", "ops", "flops")
FLAGS = flags.FLAGS
flags.DEFINE_list("models", ["ring8", "mnist_dcgan", "cifar10_sngan"],
                  f"speed/memory: models, from {', '.join(models.NAMES)} or any "
                  "configs/<name>.yaml (as shipped).")
flags.DEFINE_list("variants", list(variants_lib.NAMES),
                  "speed/memory: variants; 'config': the config's own rule as shipped.")
flags.DEFINE_list("jit", ["false", "true"], "XLA off/on; 'config': the config's own.")
flags.DEFINE_integer("steps", None, "Steps per timed round (speed: 20; memory: 20).")
flags.DEFINE_integer("rounds", 5, "speed: timed rounds per variant.")
flags.DEFINE_integer("warmup", 5, "speed: untimed steps per variant first.")
flags.DEFINE_boolean("cli", True, "speed: also time the CLI run against the bare loop.")
flags.DEFINE_list("cli_models", ["ring8", "mnist_dcgan"], "speed: models for the CLI run.")
flags.DEFINE_list("steps_per_call", ["config"],
                  "speed: the CLI run's train.steps_per_call, one run each ('config': "
                  "the config's own).")
flags.DEFINE_multi_string("set", [], "Override a config key in every variant: a.b=value.")
flags.DEFINE_string("out", "runs/bench", "Folder for <mode>.json and <mode>.md ('': none).")
flags.DEFINE_list("datasets", ["ring8", "grid25"], "quality: toy datasets.")
flags.DEFINE_list("rules", ["one_step/fused", "alternating"], "quality: rules.")
flags.DEFINE_list("penalties", ["none", "r1"], "quality: none and/or r1.")
flags.DEFINE_float("r1_weight", 0.1, "quality: R1 weight (gamma).")
flags.DEFINE_integer("seeds", 10, "quality: seeds 0..N-1 per cell.")
flags.DEFINE_float("seconds", 0, "quality: equal wall time per run (calibrated); 0: the "
                   "config's own steps for every rule.")
flags.DEFINE_boolean("decay", False, "quality: every run's learning rate decays linearly "
                     "from the config's own to 0 over the run's steps.")
flags.DEFINE_list("run_steps", [], "quality: fixed steps instead of a calibration, as "
                  "dataset/penalty/rule=N (e.g. to resume a table with its first rates).")
flags.DEFINE_integer("workers", 2, "quality: runs at once.")
flags.DEFINE_integer("threads", 1, "quality/curve: CPU threads per run.")
flags.DEFINE_string("curve_model", "mnist_dcgan_sn",
                    "curve: the model (mnist_dcgan_sn: configs/mnist_dcgan.yaml as shipped).")
flags.DEFINE_string("metric", "mnist_fd", "curve: the eval/<metric> to plot.")
flags.DEFINE_integer("points", 8, "curve: evaluations per run, evenly spaced.")


def _log(line):
  print(line, file=sys.stderr, flush=True)


def _jits(config_jit=None):
  allowed = {"false": False, "true": True}
  out = []
  for j in FLAGS.jit:
    if j == "config":
      out.append(config_jit)
    elif j in allowed:
      out.append(allowed[j])
    else:
      raise UserError(f"--jit: {j!r} is not allowed; choose from: config, false, true")
  return out


def _check(values, allowed, flag):
  for v in values:
    if v not in allowed:
      raise UserError(f"--{flag}: {v!r} is not allowed; choose from: {', '.join(allowed)}")


def _header(mode):
  tf = benchmark.tensorflow()
  gpus = tf.config.list_physical_devices("GPU")
  return (f"bench.py {mode} {' '.join(sys.argv[2:])} | {time.strftime('%Y-%m-%d %H:%M')} | "
          f"{platform.node()} {os.cpu_count()} CPUs, {len(gpus)} GPU(s), load "
          f"{os.getloadavg()[0]:.1f} | TensorFlow {tf.__version__}")


def _speed():
  from benchlib import speed  # pylint: disable=g-import-not-at-top
  steps = FLAGS.steps or 20
  benchmark.check_at_least(1, steps=steps, rounds=FLAGS.rounds)
  for k in FLAGS.steps_per_call:
    if k != "config" and not (k.isdigit() and int(k) >= 1):
      raise UserError(f"--steps_per_call: {k!r} is not allowed; expected 'config' or an "
                      "integer >= 1")
  rows, cli_rows = [], []
  for model in FLAGS.models:
    jit_default = variants_lib.build_config(model, FLAGS.set).train.jit_compile
    for jit in _jits(jit_default):
      rows += speed.measure(model, jit, FLAGS.variants, steps, FLAGS.rounds, FLAGS.warmup,
                            FLAGS.set, _log)
      if FLAGS.cli and model in FLAGS.cli_models:
        cli_rows += speed.cli_versus_bare(model, jit, steps, FLAGS.rounds, FLAGS.set, _log,
                                          FLAGS.steps_per_call)
  print("BENCH_ROWS " + json.dumps(rows))
  header = _header("speed")
  return "speed", header, {"rows": rows, "cli": cli_rows}, report.speed_markdown(
      header, rows, cli_rows)


def _memory():
  from benchlib import memory  # pylint: disable=g-import-not-at-top
  steps = FLAGS.steps or 20
  benchmark.check_at_least(1, steps=steps)
  rows = []
  for model in FLAGS.models:
    for jit in _jits(variants_lib.build_config(model, FLAGS.set).train.jit_compile):
      rows += memory.measure(model, jit, FLAGS.variants, steps, FLAGS.set, _log)
  header = _header("memory")
  return "memory", header, {"rows": rows}, report.memory_markdown(header, rows)


def _quality():
  from benchlib import quality  # pylint: disable=g-import-not-at-top
  _check(FLAGS.datasets, tuple(quality.PACGAN), "datasets")
  _check(FLAGS.penalties, tuple(quality.PENALTIES), "penalties")
  _check(FLAGS.rules, tuple(variants_lib.RULES), "rules")
  benchmark.check_at_least(1, seeds=FLAGS.seeds, workers=FLAGS.workers, threads=FLAGS.threads)
  out = os.path.join(FLAGS.out or "runs/bench", "quality_runs")
  todo, rates = [], {}
  for dataset in FLAGS.datasets:
    steps_of = _fixed_steps(dataset)
    for penalty in [] if steps_of else FLAGS.penalties:
      extra = FLAGS.set + [quality.PENALTIES[penalty].format(w=FLAGS.r1_weight)]
      if FLAGS.seconds > 0:  # a penalty changes the cost of a step: calibrate each
        rate = quality.calibrate(dataset, FLAGS.rules, FLAGS.threads, extra)
        rates[f"{dataset}/{penalty}"] = rate
        steps_of.update({(r, penalty): int(FLAGS.seconds * rate[r]) for r in FLAGS.rules})
      else:
        own = variants_lib.build_config(dataset, extra).train.steps
        steps_of.update({(r, penalty): own for r in FLAGS.rules})
    _log(f"{dataset}: steps per run {steps_of}")
    todo += quality.tasks(dataset, FLAGS.rules, FLAGS.penalties, FLAGS.seeds, steps_of, out,
                          FLAGS.r1_weight, FLAGS.set,
                          _start_rate(dataset) if FLAGS.decay else 0.0)
  # Seed-major order: a table cut short still has every cell at the same seeds.
  todo.sort(key=lambda t: (t["seed"], t["dataset"], t["penalty"], t["rule"]))
  rows = quality.run_all(todo, FLAGS.workers, FLAGS.threads, _log)
  summaries = quality.summarize(rows)
  header = _header("quality")
  return "quality", header, {"rates": rates, "runs": rows, "summary": summaries}, \
      report.quality_markdown(header, summaries)


def _curve():
  from benchlib import curve  # pylint: disable=g-import-not-at-top
  from benchlib import quality  # pylint: disable=g-import-not-at-top
  _check([FLAGS.curve_model], models.known(), "curve_model")
  _check(FLAGS.rules, tuple(variants_lib.RULES), "rules")
  benchmark.check_at_least(1, seeds=FLAGS.seeds, workers=FLAGS.workers,
                           threads=FLAGS.threads, points=FLAGS.points, seconds=FLAGS.seconds)
  model = FLAGS.curve_model
  steps_of = {rule: n for (rule, _), n in _fixed_steps(model).items()}
  if set(steps_of) != set(FLAGS.rules):  # calibrate unless --run_steps gives them all
    rates = quality.calibrate(model, FLAGS.rules, FLAGS.threads, FLAGS.set,
                              steps=FLAGS.steps or 30)
    steps_of = {r: int(FLAGS.seconds * rates[r]) for r in FLAGS.rules}
  rates = {r: steps_of[r] / FLAGS.seconds for r in FLAGS.rules}
  _log(f"{model}: steps per run {steps_of}")
  out = FLAGS.out or "runs/bench"
  todo = sorted(curve.tasks(model, FLAGS.rules, FLAGS.seeds, steps_of, FLAGS.points,
                            os.path.join(out, "curve_runs"), FLAGS.set),
                key=lambda t: (t["seed"], t["rule"]))
  metric = FLAGS.metric
  quality.run_all(todo, FLAGS.workers, FLAGS.threads, _log, run=quality.train_one,
                  line=lambda r: f"{model}: a run done, final {metric} {r[0].get(metric)} "
                  f"({r[1]:.0f} s)")
  rows = curve.collect(todo, rates, metric)
  summary = curve.summarize(rows)
  header = _header("curve")
  os.makedirs(out, exist_ok=True)
  png = os.path.join(out, "curve.png")
  curve.plot(summary, FLAGS.metric, png, f"{model}: {FLAGS.metric} at equal wall time")
  _log(f"wrote {png}")
  return "curve", header, {"rates": rates, "runs": rows, "summary": summary}, \
      report.curve_markdown(header, summary, FLAGS.metric)


def _ops():
  import tempfile  # pylint: disable=g-import-not-at-top
  from benchlib import ops  # pylint: disable=g-import-not-at-top
  from benchlib import speed  # pylint: disable=g-import-not-at-top
  steps = FLAGS.steps or 10
  benchmark.check_at_least(1, steps=steps)
  rows = []
  for model in FLAGS.models:
    jit_default = variants_lib.build_config(model, FLAGS.set).train.jit_compile
    for jit in _jits(jit_default):
      built = [variants_lib.build(model, name, jit, FLAGS.set) for name in FLAGS.variants]
      speed.interleave(built, 1, 1, FLAGS.warmup)  # traced and compiled before profiling
      with tempfile.TemporaryDirectory() as logdir:
        for variant in built:
          table, wall = ops.profile(
              variant, steps, os.path.join(logdir, f"{len(rows)}"))
          rows.append({"model": model, "jit_compile": jit, "variant": variant.name,
                       "wall_ms": wall, "ops": table})
          _log(f"{model} XLA {jit} {variant.name}: {wall:.1f} ms/step, "
               f"{sum(v['ms'] for v in table.values()):.1f} ms of ops")
  header = _header("ops")
  return "ops", header, {"rows": rows}, report.ops_markdown(header, rows, ops.top_ops)


def _flops():
  from benchlib import flops  # pylint: disable=g-import-not-at-top
  rows = [row for model in FLAGS.models
          for row in flops.measure(model, FLAGS.variants, FLAGS.set, _log)]
  header = _header("flops")
  return "flops", header, {"rows": rows}, report.flops_markdown(header, rows)


def _fixed_steps(dataset):
  """{(rule, penalty): steps} given by --run_steps for `dataset`."""
  out = {}
  for item in FLAGS.run_steps:
    key, _, value = item.partition("=")
    parts = key.split("/", 2)
    if len(parts) != 3 or not value.isdigit():
      raise UserError(f"--run_steps: {item!r} is not allowed; expected dataset/penalty/rule=N")
    if parts[0] == dataset:
      out[(parts[2], parts[1])] = int(value)
  return out


def _start_rate(dataset):
  """The config's learning rate (a schedule's starting value) for --decay."""
  rate = variants_lib.build_config(dataset, FLAGS.set).optimizer.learning_rate
  return float(rate if isinstance(rate, (int, float)) else rate["value"])


def _main(argv):
  if len(argv) != 2 or argv[1] not in MODES + ("_memory_child",):
    raise UserError(f"mode: {' '.join(argv[1:]) or 'missing'!r} is not allowed; "
                    f"choose one of: {', '.join(MODES)}")
  _check(FLAGS.models, models.known(), "models")
  _check(FLAGS.variants, variants_lib.ALL, "variants")
  if argv[1] == "_memory_child":
    from benchlib import memory  # pylint: disable=g-import-not-at-top
    memory.child(FLAGS.models[0], FLAGS.variants[0], _jits()[0], FLAGS.steps, FLAGS.set)
    return
  mode, header, payload, markdown = {"speed": _speed, "memory": _memory,
                                     "quality": _quality, "curve": _curve,
                                     "ops": _ops, "flops": _flops}[argv[1]]()
  print(markdown)
  if FLAGS.out:
    for path in report.write(FLAGS.out, mode, header, payload, markdown):
      _log(f"wrote {path}")


def main(argv):
  run_tool(lambda: _main(argv), [argv[0]])


if __name__ == "__main__":
  app.run(main)
