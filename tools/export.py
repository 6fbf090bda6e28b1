"""Exports a run's generator (the EMA one when the run kept it) as a SavedModel.

    python tools/export.py --workdir runs/mnist_dcgan --out exported/mnist_dcgan

The SavedModel needs only TensorFlow to run, not tfgan1 or its plugins:

    m = tf.saved_model.load("exported/mnist_dcgan")
    out = m.signatures["serving_default"](noise=tf.random.normal([16, 128]))

Its `serving_default` signature takes `noise`, float32 [None, latent_dim] (draw it
like the run did: `noise.distribution` in the run's config.yaml, normal or
uniform in [-1, 1]) and returns
  * for image data (samples of shape [H, W, C]): `images`, uint8 [None, H, W, C],
    the pixels clip(round((x + 1) * 127.5), 0, 255) of G's [-1, 1] output;
  * for anything else (the 2-D toy sets): `samples`, float32 [None, *shape], G's
    output unchanged, in the data's own coordinates.
A class-conditional run's signature also takes `labels`, int32 [None] (class
numbers, 0 to num_classes - 1): `fn(noise=..., labels=...)`.
The same function is also the module's `generate` method.
"""
import os

from absl import app
from absl import flags

from tfgan1.errors import UserError
from toolkit import run_tool

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "Run folder (holds config.yaml and checkpoints/).")
flags.DEFINE_string("out", None, "Folder to write the SavedModel to.")


def is_image(shape):
  """Whether samples of `shape` are [H, W, C] pictures (exported as uint8)."""
  from tfgan1.output import pictures as viz  # pylint: disable=g-import-not-at-top
  return viz.is_image(shape)


def to_uint8(tf, images):
  """[-1, 1] floats -> uint8 pixels; the same formula as the export's output."""
  pixels = tf.round((tf.cast(images, tf.float32) + 1.0) * 127.5)
  return tf.cast(tf.clip_by_value(pixels, 0.0, 255.0), tf.uint8)


def make_module(tf, generator, latent_dim, sample_shape, num_classes=None):
  """A tf.Module that holds `generator` and serves it with a fixed signature
  (noise, plus labels for a class-conditional generator)."""
  module = tf.Module()
  # Attribute assignment makes the module track G's variables, so they are saved.
  module.generator = generator
  image = is_image(sample_shape)

  def outputs(x):
    if image:
      return {"images": to_uint8(tf, x)}
    return {"samples": tf.cast(x, tf.float32)}

  noise_spec = tf.TensorSpec([None, latent_dim], tf.float32, name="noise")
  if num_classes:
    @tf.function(input_signature=[noise_spec, tf.TensorSpec([None], tf.int32, name="labels")])
    def generate(noise, labels):
      return outputs(module.generator([noise, labels], training=False))
  else:
    @tf.function(input_signature=[noise_spec])
    def generate(noise):
      return outputs(module.generator(noise, training=False))

  module.generate = generate
  return module


def _main():
  if not FLAGS.workdir:
    raise UserError("--workdir: missing; give the folder of a tfgan1 run")
  if not FLAGS.out:
    raise UserError("--out: missing; give a folder to write the SavedModel to")
  if os.path.exists(FLAGS.out) and not os.path.isdir(FLAGS.out):
    raise UserError(f"--out: {FLAGS.out!r} is a file; expected a folder")
  from tfgan1.runner import reload as restore  # pylint: disable=g-import-not-at-top  (imports TF)
  from tfgan1.engine import assembly as build  # pylint: disable=g-import-not-at-top
  tf = build.tf
  config, data, generator = restore.load_sampler(FLAGS.workdir)
  shape = tuple(data.spec.shape)
  classes = data.spec.num_classes
  module = make_module(tf, generator, config.noise.dim, shape, classes)
  tf.saved_model.save(module, FLAGS.out,
                      signatures={"serving_default": module.generate})
  output = "images uint8" if is_image(shape) else "samples float32"
  labels = f" + labels int32 [None] (0..{classes - 1})" if classes else ""
  print(f"wrote SavedModel to {FLAGS.out}: noise float32 [None, {config.noise.dim}]{labels}"
        f" -> {output} [None, {', '.join(map(str, shape))}]")


def main(argv):
  run_tool(_main, argv)


if __name__ == "__main__":
  app.run(main)
