"""One benchmark tool: speed, memory and quality of the update rules, and the
precision, backend, distribution and evaluation grids.

    python tools/bench.py speed      [--models ring8,mnist_dcgan,cifar10_sngan] [--jit false,true]
    python tools/bench.py memory     [--models ...] [--variants ...]
    python tools/bench.py quality    [--datasets ring8,grid25] [--seeds 10] [--seconds 120]
    python tools/bench.py curve      [--curve_model mnist_dcgan_sn] [--seeds 3] [--seconds 240]
    python tools/bench.py ops        [--models mnist_dcgan] [--variants one_step/fused,ref/keras_io]
    python tools/bench.py flops      [--models mnist_dcgan] [--variants one_step/shared,alternating]
    python tools/bench.py precision  [--models mnist_dcgan] [--precisions float32,mixed_bfloat16]
    python tools/bench.py backends   [--models ring8] [--rules one_step/fused,alternating]
    python tools/bench.py distribute [--models ring8] [--cpus 2]
    python tools/bench.py eval       [--models ring8,mnist_dcgan] [--steps 50] [--rounds 5]

speed: milliseconds per step of each variant (the engine's rules: one_step in its
four forms, simultaneous, alternating 1:1; the TensorFlow-tutorial and keras.io
hand-written steps; the classic TF1 `sess.run([D_solver, G_solver], feed_dict)`
loop, ref/tf1_session, beside train.backend=tf1_graph's simultaneous and one_step
rules, tf1/*; the bare one-step loop on a constant batch), all built from
the same seed and timed in interleaved rounds in one process; then the CLI run at
the config's own intervals against the bare loop. memory: peak memory per variant,
one subprocess each. quality: modes, high-quality share and reverse KL over seeds
per rule, with and without R1, at equal wall time, beside PacGAN's Table 1.
curve: an image config's eval metric (MNIST-FD) against calibrated wall time per
rule, over seeds, as a table and OUT/curve.png.
ops: time per step by TensorFlow op type of each variant, from a profiler trace.
flops: the arithmetic of each variant's step (convolutions and dot products),
counted in the program XLA compiles for it, one subprocess each.
precision: each model under each `precision.name` x XLA off/on, against the first.
backends: each rule under each `train.backend` x XLA (where the backend has it),
against the first backend's of the same rule (tf2, XLA off by default).
distribute: one device against `mirrored` (all GPUs, else the CPU split into
`--cpus` logical devices), at the same global batch.
eval: the seconds of one evaluation (the config's `eval` section on the run's
sampler) against train steps, and the share of a whole run it takes.
The grids (precision, backends, distribute) and speed time their variants with
one harness (benchlib/timing.py: interleaved rounds in one process).
`--models` takes a preset, a shipped config's name, or a YAML file of one's own.
Each mode writes OUT/<mode>.json and OUT/<mode>.md (and prints the table).
"""
import importlib
import os
import platform
import sys
import time

from absl import app
from absl import flags

from benchlib import models
from benchlib import report
from benchlib import timing
from benchlib import variants as variants_lib
from tfgan1.errors import UserError
from toolkit import check_choices, run_tool

# Each mode is benchlib/<mode>.py, whose `main(flags, log)` measures and returns
# (the JSON payload, a function of the header line -> the Markdown table).
MODES = ("speed", "memory", "quality", "curve", "ops", "flops", "precision", "backends",
         "distribute", "eval")
FLAGS = flags.FLAGS
flags.DEFINE_list("models", ["ring8", "mnist_dcgan", "cifar10_sngan"],
                  f"speed/memory/ops/flops and the grids: models, from {', '.join(models.NAMES)}, "
                  "any configs/<name>.yaml (as shipped) or a YAML file.")
flags.DEFINE_list("variants", list(variants_lib.NAMES),
                  "speed/memory: variants; 'config': the config's own rule as shipped.")
flags.DEFINE_list("jit", ["false", "true"], "XLA off/on; 'config': the config's own.")
flags.DEFINE_integer("steps", None, "Steps per timed round (speed, memory, precision: 20; "
                     "ops: 10; backends: 30; distribute, eval: 50).")
flags.DEFINE_integer("rounds", 5, "speed and the grids: timed rounds per variant.")
flags.DEFINE_integer("warmup", 5, "speed and the grids: untimed steps per variant first.")
flags.DEFINE_boolean("cli", True, "speed: also time the CLI run against the bare loop.")
flags.DEFINE_list("cli_models", ["ring8", "mnist_dcgan"], "speed: models for the CLI run.")
flags.DEFINE_list("steps_per_call", ["config"],
                  "speed: the CLI run's train.steps_per_call, one run each ('config': "
                  "the config's own).")
flags.DEFINE_multi_string("set", [], "Override a config key in every variant: a.b=value.")
flags.DEFINE_string("out", "runs/bench", "Folder for <mode>.json and <mode>.md ('': none).")
flags.DEFINE_list("datasets", ["ring8", "grid25"], "quality: toy datasets.")
flags.DEFINE_list("rules", ["one_step/fused", "alternating"], "quality/curve/backends: rules.")
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
flags.DEFINE_list("precisions", ["float32", "mixed_bfloat16"], "precision: precision.name values.")
flags.DEFINE_integer("cpus", 2, "distribute: logical CPU devices to split the CPU into "
                     "when there is no GPU.")


def _log(line):
  print(line, file=sys.stderr, flush=True)


def _header(mode):
  tf = timing.tensorflow()
  gpus = tf.config.list_physical_devices("GPU")
  return (f"bench.py {mode} {' '.join(sys.argv[2:])} | {time.strftime('%Y-%m-%d %H:%M')} | "
          f"{platform.node()} {os.cpu_count()} CPUs, {len(gpus)} GPU(s), load "
          f"{os.getloadavg()[0]:.1f} | TensorFlow {tf.__version__}")


def _main(argv):
  if len(argv) != 2 or argv[1] not in MODES + ("_memory_child",):
    raise UserError(f"mode: {' '.join(argv[1:]) or 'missing'!r} is not allowed; "
                    f"choose one of: {', '.join(MODES)}")
  models.check(FLAGS.models)
  check_choices(FLAGS.variants, variants_lib.ALL, "variants")
  if argv[1] == "_memory_child":
    from benchlib import memory  # pylint: disable=g-import-not-at-top
    model = FLAGS.models[0]
    memory.child(model, FLAGS.variants[0], variants_lib.jits(FLAGS.jit, model, FLAGS.set)[0],
                 FLAGS.steps, FLAGS.set)
    return
  mode = argv[1]
  payload, markdown = importlib.import_module(f"benchlib.{mode}").main(FLAGS, _log)
  header = _header(mode)
  markdown = markdown(header)
  print(markdown)
  if FLAGS.out:
    for path in report.write(FLAGS.out, mode, header, payload, markdown):
      _log(f"wrote {path}")


def main(argv):
  run_tool(lambda: _main(argv), [argv[0]])


if __name__ == "__main__":
  app.run(main)
