"""Writes generator samples from a run's latest checkpoint.

    python tools/sample.py --workdir runs/ring8 --num 1000 --out samples.npy
    python tools/sample.py --workdir runs/mnist_dcgan --num 64 --out grid.png

`.npy`: float32 [N, *sample shape] in the data's own coordinates (N x 2 for the
toy sets; images in [-1, 1]). `.png`: the dataset's picture of the samples (a
scatter plot for the toy sets, a grid for images). The EMA generator is used
when the run kept one.
"""
import os

from absl import app
from absl import flags

from tfgan1.errors import UserError, run_tool

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "Run folder (holds config.yaml and checkpoints/).")
flags.DEFINE_integer("num", 1000, "Number of samples.")
flags.DEFINE_string("out", "samples.npy", "Output file: .npy or .png.")
flags.DEFINE_integer("seed", 0, "Noise seed.")


def _main():
  if not FLAGS.workdir:
    raise UserError("--workdir: missing; give the folder of a tfgan1 run")
  if FLAGS.num < 1:
    raise UserError(f"--num: {FLAGS.num} is not allowed; must be >= 1")
  ext = os.path.splitext(FLAGS.out)[1].lower()
  if ext not in (".npy", ".png"):
    raise UserError(f"--out: {FLAGS.out!r} is not allowed; expected a .npy or .png file")
  from tfgan1 import restore  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top
  config, data, generator = restore.load_sampler(FLAGS.workdir)
  samples = restore.sample(config, generator, FLAGS.num, FLAGS.seed)
  if ext == ".npy":
    np.save(FLAGS.out, samples)
  else:
    if not hasattr(data, "render"):
      raise UserError(f"--out: dataset {config.data.name!r} has no picture; use .npy")
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    tf.io.write_file(FLAGS.out, tf.io.encode_png(data.render(samples)))
  print(f"wrote {samples.shape[0]} samples to {FLAGS.out}")


def main(argv):
  run_tool(_main, argv)


if __name__ == "__main__":
  app.run(main)
