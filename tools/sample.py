"""Writes generator samples from a run's latest checkpoint.

    python tools/sample.py --workdir runs/ring8 --num 1000   # runs/ring8/samples.npy
    python tools/sample.py --workdir runs/mnist_dcgan --num 64 --out runs/mnist_dcgan/grid.png
    python tools/sample.py --workdir runs/mnist_dcgan --num 10000 --out runs/mnist_dcgan/pngs/
    python tools/sample.py --workdir runs/mnist_dcgan --num 64 --truncation 0.7 --out runs/t.png
    python tools/sample.py --workdir runs/mnist_dcgan --interpolate 10 --out runs/walk.png
    python tools/sample.py --workdir runs/mnist_cdcgan --classes 0,1,2 --num 30 --out runs/c.png

`.npy`: float32 [N, *sample shape] in the data's own coordinates (N x 2 for the
toy sets; images in [-1, 1]). `.png`: the dataset's picture of the samples (a
scatter plot for the toy sets, a grid for images). A folder (`--out DIR/`, or
an existing folder): one RGB PNG per sample, `000000.png`, `000001.png`, ...,
as outside FID tools (clean-fid, pytorch-fid, torch-fidelity) read them; image
runs only. The EMA generator is used when the run kept one.

`--truncation T` redraws every noise entry beyond +-T (BigGAN's truncation trick;
runs with normal noise only) and re-estimates G's BatchNorm statistics on such
noise (BigGAN's standing statistics), so samples do not fade to a grey mean. `--interpolate N` writes N samples along a
spherical walk between two noise vectors instead of `--num` samples: a one-row
strip for image runs, or an [N, *shape] .npy (toy runs have no strip picture).

Class-conditional runs: `--class 3` or `--classes 0,1,2` picks the classes
(default: all). Sample i gets class classes[i % len(classes)]; a .png of
several classes shows one row per class (`--num` split between them). A walk
keeps one class. Runs without labels refuse both flags.
"""
import os

from absl import app
from absl import flags

from tfgan1.errors import UserError
from toolkit import run_tool

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "Run folder (holds config.yaml and checkpoints/).")
flags.DEFINE_integer("num", 1000, "Number of samples.")
flags.DEFINE_string("out", None, "Output file (.npy or .png) or folder (DIR/: one PNG "
                    "per sample); default WORKDIR/samples.npy.")
flags.DEFINE_integer("seed", 0, "Noise seed.")
flags.DEFINE_float("truncation", None, "Redraw noise entries beyond +-T (normal noise).")
flags.DEFINE_integer("interpolate", None, "Walk of N steps between two noise vectors.")
flags.DEFINE_integer("class", None, "Conditional runs: the class to sample.")
flags.DEFINE_list("classes", None, "Conditional runs: classes to sample, e.g. 0,1,2.")


def _check_flags():
  if not FLAGS.workdir:
    raise UserError("--workdir: missing; give the folder of a tfgan1 run")
  if FLAGS.num < 1:
    raise UserError(f"--num: {FLAGS.num} is not allowed; must be >= 1")
  if FLAGS.out is None:  # beside the run, not in whatever folder the tool runs from
    FLAGS.out = os.path.join(FLAGS.workdir, "samples.npy")
  if FLAGS.out.endswith(("/", os.sep)) or os.path.isdir(FLAGS.out):
    return "folder"
  ext = os.path.splitext(FLAGS.out)[1].lower()
  if ext not in (".npy", ".png"):
    raise UserError(f"--out: {FLAGS.out!r} is not allowed; expected a .npy or .png "
                    "file, or a folder ending in /")
  if FLAGS.interpolate is not None and FLAGS.interpolate < 2:
    raise UserError(f"--interpolate: {FLAGS.interpolate} is not allowed; must be >= 2")
  return ext


def _classes(config, num_classes):
  """The classes to draw (conditional runs), or None; bad flags are one line."""
  one, many = FLAGS["class"].value, FLAGS.classes
  flag = "--class" if one is not None else "--classes"
  given = [one] if one is not None else many
  if not num_classes:
    if given is not None:
      raise UserError(f"{flag}: this run is not class-conditional (data "
                      f"{config.data.name!r} without labels: true)")
    return None
  if given is None:
    return list(range(num_classes))
  try:
    classes = [int(c) for c in given]
  except ValueError:
    classes = []
  if not classes or not all(0 <= c < num_classes for c in classes):
    raise UserError(f"{flag}: {','.join(map(str, given))!r} is not allowed; expected "
                    f"class numbers from 0 to {num_classes - 1}")
  if FLAGS.interpolate is not None and len(classes) > 1:
    raise UserError(f"{flag}: a walk keeps one class; give --class")
  return classes


def _labels(sampling, classes, num, ext):
  """Each sample's class: one row per class for a picture of several classes."""
  if not classes:
    return None
  if ext == ".png" and len(classes) > 1:
    return sampling.class_rows(classes, max(1, num // len(classes)))
  return sampling.class_labels(num, None, classes)


def _picture(data, samples, classes, walk):
  from tfgan1.output import pictures as viz  # pylint: disable=g-import-not-at-top
  if walk:
    return viz.image_grid(samples, columns=len(samples))
  if classes and len(classes) > 1 and viz.is_image(data.spec.shape):
    return viz.image_grid(samples, columns=len(samples) // len(classes))
  return data.render(samples)


def _write_folder(tf, viz, samples):
  """One PNG per sample, numbered from 000000, pixels as in the grid pictures."""
  os.makedirs(FLAGS.out, exist_ok=True)
  for i, image in enumerate(samples):
    png = tf.io.encode_png(viz.image_grid(image[None], columns=1))
    tf.io.write_file(os.path.join(FLAGS.out, f"{i:06d}.png"), png)


def _main():
  ext = _check_flags()
  from tfgan1.runner import reload as restore  # pylint: disable=g-import-not-at-top
  from tfgan1.evaluation import sampling  # pylint: disable=g-import-not-at-top
  from tfgan1.output import pictures as viz  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top
  config, data, generator = restore.load_sampler(FLAGS.workdir)
  sampling.check_truncation(config, FLAGS.truncation)
  restore.check_truncation(config, generator, FLAGS.truncation, "sample")
  classes = _classes(config, data.spec.num_classes)
  walk = FLAGS.interpolate is not None
  if ext == "folder" and not viz.is_image(data.spec.shape):
    raise UserError(f"--out: a folder of PNGs needs image samples; data "
                    f"{config.data.name!r} has samples of shape {tuple(data.spec.shape)}; "
                    "write a .npy file instead")
  if walk and ext == ".png" and not viz.is_image(data.spec.shape):
    raise UserError(f"--interpolate: a walk picture needs image samples; data "
                    f"{config.data.name!r} has samples of shape {tuple(data.spec.shape)}; "
                    "write a .npy file instead")
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  rng = tf.random.Generator.from_seed(FLAGS.seed)
  if FLAGS.truncation is not None:  # BatchNorm statistics for the truncated noise
    sampling.truncation_statistics(config, generator, FLAGS.truncation, data.spec.num_classes)
  labels = _labels(sampling, classes, FLAGS.interpolate if walk else FLAGS.num, ext)
  num = len(labels) if labels is not None else FLAGS.interpolate if walk else FLAGS.num
  z = (sampling.walk(config, rng, num, FLAGS.truncation) if walk
       else sampling.noise(config, rng, num, FLAGS.truncation))
  samples = sampling.generate(generator, z, labels)
  if ext == "folder":
    _write_folder(tf, viz, samples)
  elif ext == ".npy":
    np.save(FLAGS.out, samples)
  else:
    if not hasattr(data, "render"):
      raise UserError(f"--out: dataset {config.data.name!r} has no picture; use .npy")
    tf.io.write_file(FLAGS.out, tf.io.encode_png(_picture(data, samples, classes, walk)))
  print(f"wrote {samples.shape[0]} samples to {FLAGS.out}")


def main(argv):
  run_tool(_main, argv)


if __name__ == "__main__":
  app.run(main)
