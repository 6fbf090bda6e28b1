"""Checkpoints of everything a run needs to continue exactly where it stopped.

One `tf.train.Checkpoint` holds the step, both networks, the optimizer slots,
the EMA generator, the noise RNG state and the data iterator's position, so a
resumed run draws the same noise and data it would have drawn without the stop.
"""
import os

from tfgan1 import tfimport

tf = tfimport.tensorflow()

from tfgan1.errors import UserError, describe

SUBDIR = "checkpoints"


def make(trainer, rng, iterator, cls=None):
  """The run's tf.train.Checkpoint; optimizers are saved under their role.

  `cls` builds it from the parts (default `tf.train.Checkpoint`); the tf1_graph
  backend passes one that syncs its graph with these eager copies.
  """
  parts = dict(step=trainer.step, generator=trainer.gan.generator,
               discriminator=trainer.gan.discriminator, noise_rng=rng)
  for role, opt in trainer.optimizers.items():
    parts[f"optimizer_{role}"] = opt
  if trainer.ema is not None:
    parts["ema_generator"] = trainer.ema.model
  if iterator is not None:
    parts["data"] = iterator
  return (cls or tf.train.Checkpoint)(**parts)


def manager(checkpoint, workdir, keep):
  return tf.train.CheckpointManager(
      checkpoint, os.path.join(workdir, SUBDIR), max_to_keep=keep)


def restore(checkpoint, path, partial=False):
  """Restores `path` into `checkpoint`; a bad or mismatched file is a UserError."""
  try:
    status = checkpoint.restore(path)
    if partial:
      status.expect_partial()
    else:
      status.assert_consumed()  # every saved value has a home, and vice versa
  except Exception as e:  # pylint: disable=broad-except  (TF raises many kinds here)
    raise UserError(
        f"checkpoint: {path!r} cannot be restored into this config "
        f"(a different architecture, or a damaged file?): {describe(e)}") from None
  return path


def latest(workdir):
  """The newest checkpoint prefix in `workdir`, or None when there is none."""
  folder = os.path.join(workdir, SUBDIR)
  if not os.path.isdir(folder):
    return None
  try:
    return tf.train.latest_checkpoint(folder)
  except tf.errors.OpError as e:
    raise UserError(f"checkpoint: {folder!r} cannot be read: {describe(e)}") from None
