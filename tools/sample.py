"""Writes generator samples from a run's latest checkpoint.

    python tools/sample.py --workdir runs/ring8 --num 1000 --out samples.npy
    python tools/sample.py --workdir runs/mnist_dcgan --num 64 --out grid.png
    python tools/sample.py --workdir runs/mnist_dcgan --num 64 --truncation 0.7 --out t.png
    python tools/sample.py --workdir runs/mnist_dcgan --interpolate 10 --out walk.png

`.npy`: float32 [N, *sample shape] in the data's own coordinates (N x 2 for the
toy sets; images in [-1, 1]). `.png`: the dataset's picture of the samples (a
scatter plot for the toy sets, a grid for images). The EMA generator is used
when the run kept one.

`--truncation T` redraws every noise entry beyond +-T (BigGAN's truncation trick;
runs with normal noise only). `--interpolate N` writes N samples along a
spherical walk between two noise vectors instead of `--num` samples: a one-row
strip for image runs, or an [N, *shape] .npy (toy runs have no strip picture).
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
flags.DEFINE_float("truncation", None, "Redraw noise entries beyond +-T (normal noise).")
flags.DEFINE_integer("interpolate", None, "Walk of N steps between two noise vectors.")


def _main():
  if not FLAGS.workdir:
    raise UserError("--workdir: missing; give the folder of a tfgan1 run")
  if FLAGS.num < 1:
    raise UserError(f"--num: {FLAGS.num} is not allowed; must be >= 1")
  ext = os.path.splitext(FLAGS.out)[1].lower()
  if ext not in (".npy", ".png"):
    raise UserError(f"--out: {FLAGS.out!r} is not allowed; expected a .npy or .png file")
  if FLAGS.interpolate is not None and FLAGS.interpolate < 2:
    raise UserError(f"--interpolate: {FLAGS.interpolate} is not allowed; must be >= 2")
  from tfgan1 import restore  # pylint: disable=g-import-not-at-top
  from tfgan1 import sampling  # pylint: disable=g-import-not-at-top
  from tfgan1 import viz  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top
  config, data, generator = restore.load_sampler(FLAGS.workdir)
  sampling.check_truncation(config, FLAGS.truncation)
  walk = FLAGS.interpolate is not None
  if walk and ext == ".png" and not viz.is_image(data.spec.shape):
    raise UserError(f"--interpolate: a walk picture needs image samples; data "
                    f"{config.data.name!r} has samples of shape {tuple(data.spec.shape)}; "
                    "write a .npy file instead")
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  rng = tf.random.Generator.from_seed(FLAGS.seed)
  z = (sampling.walk(config, rng, FLAGS.interpolate, FLAGS.truncation) if walk
       else sampling.noise(config, rng, FLAGS.num, FLAGS.truncation))
  samples = sampling.generate(generator, z)
  if ext == ".npy":
    np.save(FLAGS.out, samples)
  else:
    if not hasattr(data, "render"):
      raise UserError(f"--out: dataset {config.data.name!r} has no picture; use .npy")
    picture = viz.image_grid(samples, columns=len(samples)) if walk else data.render(samples)
    tf.io.write_file(FLAGS.out, tf.io.encode_png(picture))
  print(f"wrote {samples.shape[0]} samples to {FLAGS.out}")


def main(argv):
  run_tool(_main, argv)


if __name__ == "__main__":
  app.run(main)
