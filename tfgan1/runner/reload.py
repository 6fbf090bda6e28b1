"""Rebuilds a finished (or running) run's generator from its workdir, for tools."""
import os

from tfgan1 import config as config_lib
from tfgan1.errors import UserError
from tfgan1.registry import loader as plugin_loader
from tfgan1.registry import tf1
from tfgan1.runner import checkpoints


def load_config(workdir, overrides=()):
  path = os.path.join(workdir, "config.yaml")
  if not os.path.isfile(path):
    raise UserError(f"--workdir: {workdir!r} holds no config.yaml; "
                    "expected the folder of a tfgan1 run")
  # A saved config's paths are absolute; older tfgan1 saved them as given, from the
  # current directory.
  return config_lib.load(path, overrides, relative_to=os.getcwd())


def load_sampler(workdir, overrides=(), checkpoint=None):
  """(config, dataset plugin, generator) with the weights of `checkpoint` (a
  checkpoint prefix; default the latest).

  The generator is the EMA one when the run kept an EMA, its BatchNorm
  statistics calibrated as the run's were (a no-op for checkpoints the run
  saved; older ones hold G's copied statistics).
  """
  config = load_config(workdir, overrides)
  plugin_loader.load_all(config.plugins)
  from tfgan1 import tfimport  # pylint: disable=g-import-not-at-top
  from tfgan1.engine import assembly  # pylint: disable=g-import-not-at-top  (imports TF)
  from tfgan1.engine import ema  # pylint: disable=g-import-not-at-top
  from tfgan1.engine import noise  # pylint: disable=g-import-not-at-top
  tf = tfimport.tensorflow()
  tf.keras.utils.set_random_seed(config.seed)
  data = assembly.dataset(config)
  if tf1.uses_tf1_functions(config):  # traced again from the same plugin file
    from tfgan1.backends.tf1_graph import functions  # pylint: disable=g-import-not-at-top
    generator, _ = functions.eager_networks(config, data.spec)
  else:
    generator, _ = assembly.models(config, data.spec)
  latest = checkpoint or checkpoints.latest(workdir)
  if latest is None:
    raise UserError(f"--workdir: {workdir!r} has no checkpoint yet in "
                    f"{os.path.join(workdir, checkpoints.SUBDIR)!r}")
  key = "ema_generator" if config.ema is not None else "generator"
  checkpoints.restore(tf.train.Checkpoint(**{key: generator}), latest, partial=True)
  if config.ema is not None:
    ema.calibrate(generator, noise.noise_fn(config, data), config.ema.bn_batches,
                  config.train.batch_size, config.seed)
  return config, data, generator


def check_truncation(config, generator, truncation, instead):
  """Refuses `--truncation` (one line) for a generator `tf1_batch_norm` names;
  `instead` ends the line: what to do without it (e.g. "sample")."""
  if truncation is not None and tf1_batch_norm(config, generator):
    raise UserError("--truncation: this run's generator is TF1 functions with BatchNorm, "
                    "whose statistics cannot be re-estimated for truncated noise (no "
                    f"Keras layers); {instead} without --truncation")


def tf1_batch_norm(config, generator):
  """Whether `generator` (from `load_sampler`) is TF1 functions with BatchNorm
  statistics, which `sampling.truncation_statistics` cannot find (no Keras layers)."""
  return tf1.uses_tf1_functions(config) and any(
      name.endswith(("moving_mean", "moving_variance")) for name in generator.weights)
