"""Rebuilds a finished (or running) run's generator from its workdir, for tools."""
import os

from tfgan1 import checkpoints
from tfgan1 import config as config_lib
from tfgan1 import plugin_loader
from tfgan1.errors import UserError


def load_config(workdir, overrides=()):
  path = os.path.join(workdir, "config.yaml")
  if not os.path.isfile(path):
    raise UserError(f"--workdir: {workdir!r} holds no config.yaml; "
                    "expected the folder of a tfgan1 run")
  return config_lib.load(path, overrides)


def load_sampler(workdir, overrides=(), checkpoint=None):
  """(config, dataset plugin, generator) with the weights of `checkpoint` (a
  checkpoint prefix; default the latest).

  The generator is the EMA one when the run kept an EMA, its BatchNorm
  statistics calibrated as the run's were (a no-op for checkpoints the run
  saved; older ones hold G's copied statistics).
  """
  config = load_config(workdir, overrides)
  plugin_loader.load_all(config.plugins)
  from tfgan1 import build  # pylint: disable=g-import-not-at-top  (imports TF)
  from tfgan1 import ema  # pylint: disable=g-import-not-at-top
  tf = build.tf
  build.keras.utils.set_random_seed(config.seed)
  data = build.dataset(config)
  generator, _ = build.models(config, data.spec)
  latest = checkpoint or checkpoints.latest(workdir)
  if latest is None:
    raise UserError(f"--workdir: {workdir!r} has no checkpoint yet in "
                    f"{os.path.join(workdir, checkpoints.SUBDIR)!r}")
  key = "ema_generator" if config.ema is not None else "generator"
  checkpoints.restore(tf.train.Checkpoint(**{key: generator}), latest, partial=True)
  if config.ema is not None:
    ema.calibrate(generator, build.noise_fn(config, data), config.ema.bn_batches,
                  config.train.batch_size, config.seed)
  return config, data, generator


def sample(config, generator, num, seed, labels=None):
  """`num` samples [num, *shape] as float32 numpy, in the data's coordinates.

  `labels` [num] (ints) go to a class-conditional generator.
  """
  from tfgan1 import build  # pylint: disable=g-import-not-at-top
  from tfgan1 import sampling  # pylint: disable=g-import-not-at-top
  rng = build.tf.random.Generator.from_seed(seed)
  return sampling.generate(generator, sampling.noise(config, rng, num), labels)
