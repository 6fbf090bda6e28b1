"""Writes a reference statistics file (mu, sigma of a real set's features) for FID.

    python tools/fid_stats.py --config configs/mnist_dcgan.yaml --out runs/stats/mnist.npz
    python tools/fid_stats.py --config configs/cifar10_sngan.yaml --out runs/stats/cifar10.npz --num_images 50000

The config's data section names the real set and its `eval.metrics` (or the
dataset's default evaluators) the feature network: the first evaluator that can
compute reference statistics (`mnist`, `inception`) is used, or `--evaluator NAME`.
The file is an .npz in the TTUR / clean-fid layout (`mu`, `sigma`) plus the
network's name and the number of images; an evaluator reads it with
`reference_stats: PATH` and then computes no real features. One JSON line
reports what was written.
"""
import json

from absl import app
from absl import flags

from tfgan1.errors import UserError
from toolkit import check_at_least, run_tool

FLAGS = flags.FLAGS
flags.DEFINE_string("config", None, "YAML config whose data (and eval.metrics) to use.")
flags.DEFINE_string("out", None, "The .npz statistics file to write.")
flags.DEFINE_string("evaluator", None, "Which evaluator's features (default: the first "
                    "that has reference statistics).")
flags.DEFINE_integer("num_images", None, "Real images to use (inception; default: "
                     "every image of an in-memory dataset).")
flags.DEFINE_multi_string("set", [], "Override a config key: a.b=value (repeatable).")


def pick(evaluators, name):
  """(name, evaluator) of the first with `reference_statistics` (named `name`, if given)."""
  able = [(n, e) for n, e in evaluators if hasattr(e, "reference_statistics")]
  if name is not None:
    able = [(n, e) for n, e in able if n == name]
  if not able:
    have = ", ".join(n for n, _ in evaluators) or "none"
    raise UserError(f"--evaluator: {name or 'any'!r}: none of this config's evaluators "
                    f"({have}) computes reference statistics; use mnist or inception")
  return able[0]


def write(config, out, evaluator=None, num_images=None):
  """Builds the data and evaluators of `config`, writes `out`; returns the report."""
  from tfgan1.engine import assembly  # pylint: disable=g-import-not-at-top  (imports TF)
  from tfgan1.evaluation import loop  # pylint: disable=g-import-not-at-top
  from tfgan1.evaluation import refstats  # pylint: disable=g-import-not-at-top
  data = assembly.dataset(config)
  name, chosen = pick(loop.Evaluation(config, data).evaluators, evaluator)
  (mu, sigma), classes, count = chosen.reference_statistics(num_images)
  refstats.save(out, mu, sigma, chosen.network_name, count, classes)
  return {"out": out, "evaluator": name, "network": chosen.network_name,
          "num_images": int(count), "dim": int(len(mu)), "classes": len(classes or ())}


def _main():
  if not FLAGS.config or not FLAGS.out:
    raise UserError("--config and --out: both are needed, e.g. --config "
                    "configs/mnist_dcgan.yaml --out runs/stats/mnist.npz")
  if FLAGS.num_images is not None:
    check_at_least(2, num_images=FLAGS.num_images)
  from tfgan1 import config as config_lib  # pylint: disable=g-import-not-at-top
  from tfgan1.registry import loader  # pylint: disable=g-import-not-at-top
  loader.load_all()
  config = config_lib.load(FLAGS.config, FLAGS.set)
  print(json.dumps(write(config, FLAGS.out, FLAGS.evaluator, FLAGS.num_images)), flush=True)


def main(argv):
  run_tool(_main, argv)


if __name__ == "__main__":
  app.run(main)
