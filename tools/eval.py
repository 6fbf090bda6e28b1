"""Evaluates a finished or running run's generator and prints one JSON line.

    python tools/eval.py --workdir runs/mnist_dcgan
    python tools/eval.py --workdir runs/ring8 --checkpoint 2500
    python tools/eval.py --workdir runs/mnist_dcgan --checkpoint best
    python tools/eval.py --workdir runs/mnist_dcgan --truncation 0.5
    python tools/eval.py --workdir W --set 'eval.metrics=[{name: mnist}]' --set eval.num_samples=5000
    python tools/eval.py --workdir W --set 'eval.metrics=[{name: inception, reference_stats: S.npz}]'

The run's config.yaml decides the evaluators (its `eval` section, or the
dataset's defaults), changed by `--set`; `reference_stats` reads a statistics
file written by tools/fid_stats.py (see docs/guide/evaluation.md). The EMA
generator is used when the run kept one. `--truncation T` evaluates samples of
noise truncated at +-T, G's BatchNorm statistics re-estimated on such noise, as
tools/sample.py draws them (BigGAN's truncation curve: run it for several T).
The line holds `step`, `checkpoint`, `truncation` (when given) and every metric;
nothing in the workdir is written.
"""
import json
import os
import re

from absl import app
from absl import flags

from tfgan1.errors import UserError
from toolkit import run_tool

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "Run folder (holds config.yaml and checkpoints/).")
flags.DEFINE_string("checkpoint", None, "Step N of checkpoints/ckpt-N, or 'best' "
                    "(checkpoints/best/); default: the latest.")
flags.DEFINE_multi_string("set", [], "Override a config key: a.b=value (repeatable).")
flags.DEFINE_float("truncation", None, "Evaluate samples of noise truncated at +-T "
                   "(normal noise only), as tools/sample.py --truncation draws them.")


def checkpoint_path(workdir, which):
  """The checkpoint prefix `--checkpoint` names, or None for the latest."""
  from tfgan1.evaluation import best  # pylint: disable=g-import-not-at-top  (imports TF)
  from tfgan1.runner import checkpoints  # pylint: disable=g-import-not-at-top
  if which is None:
    return None
  if which == "best":
    path = best.tf.train.latest_checkpoint(os.path.join(workdir, best.BEST_SUBDIR))
    if path is None:
      raise UserError(f"--checkpoint: 'best', but {workdir!r} has no "
                      f"{best.BEST_SUBDIR}/ (set eval.best to keep one)")
    return path
  if not re.fullmatch(r"\d+", which):
    raise UserError(f"--checkpoint: {which!r} is not allowed; expected a step N or 'best'")
  path = os.path.join(workdir, checkpoints.SUBDIR, f"ckpt-{which}")
  if not os.path.isfile(path + ".index"):
    folder = os.path.join(workdir, checkpoints.SUBDIR)
    have = sorted((int(m.group(1)) for m in (re.fullmatch(r"ckpt-(\d+)\.index", n)
                                              for n in os.listdir(folder)) if m)
                  if os.path.isdir(folder) else [])
    raise UserError(f"--checkpoint: no checkpoint at step {which} in {folder!r}; "
                    f"steps kept: {', '.join(map(str, have)) or 'none'}")
  return path


def _main():
  if not FLAGS.workdir:
    raise UserError("--workdir: missing; give the folder of a tfgan1 run")
  from tfgan1.evaluation import loop as evaluation  # pylint: disable=g-import-not-at-top
  from tfgan1.runner import checkpoints  # pylint: disable=g-import-not-at-top
  from tfgan1.runner import reload as restore  # pylint: disable=g-import-not-at-top
  path = checkpoint_path(FLAGS.workdir, FLAGS.checkpoint)
  config, data, generator = restore.load_sampler(FLAGS.workdir, FLAGS.set, path)
  path = path or checkpoints.latest(FLAGS.workdir)
  evaluator = evaluation.Evaluation(config, data)  # checks the metrics first
  extra = {}
  if FLAGS.truncation is not None:
    from tfgan1.evaluation import sampling  # pylint: disable=g-import-not-at-top
    sampling.check_truncation(config, FLAGS.truncation)
    restore.check_truncation(config, generator, FLAGS.truncation, "evaluate")
    sampling.truncation_statistics(config, generator, FLAGS.truncation, data.spec.num_classes)
    extra = {"truncation": FLAGS.truncation}
  metrics = evaluator(generator, FLAGS.truncation)
  step = int(path.rsplit("-", 1)[1])
  print(json.dumps({"step": step, "checkpoint": path, **extra, **metrics}), flush=True)


def main(argv):
  run_tool(_main, argv)


if __name__ == "__main__":
  app.run(main)
