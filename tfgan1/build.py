"""Turns a checked Config into live objects: plugins, models, optimizers, noise.

Everything a config names is built here, before the run loop touches the
workdir, so bad plugin names, kwargs or paths fail as one-line errors with
nothing on disk changed.
"""
import dataclasses
import inspect
from typing import Any

from tfgan1 import config as config_lib
from tfgan1 import registry
from tfgan1 import tfimport
from tfgan1.errors import UserError, describe
from tfgan1.losses import GAN, PenaltyTerm

tf = tfimport.tensorflow()
import keras  # noqa: E402  pylint: disable=g-import-not-at-top,wrong-import-position


def _accepted(fn, skip):
  params = inspect.signature(fn).parameters
  return [p for p in params if p not in skip and p != "self"
          and params[p].kind not in (inspect.Parameter.VAR_POSITIONAL,
                                     inspect.Parameter.VAR_KEYWORD)]


def construct(field, name, fn, args, kwargs, skip=()):
  """Calls a plugin with the config's kwargs, as a one-line error if they don't fit."""
  try:
    inspect.signature(fn).bind(*args, **kwargs)
  except TypeError as e:
    accepted = ", ".join(_accepted(fn, skip)) or "(none)"
    raise UserError(f"{field}: {name!r} does not take these arguments ({e}); "
                    f"accepted: {accepted}") from None
  try:
    return fn(*args, **kwargs)
  except UserError:
    raise
  except (ValueError, TypeError) as e:
    raise UserError(f"{field}: {name!r} rejected its arguments: {describe(e)}") from None


def _plugin(reg, spec, field, *args, method=None, skip=()):
  obj = reg.get(spec.name, f"{field}.name")
  fn = getattr(obj, method) if method else obj
  return construct(field, spec.name, fn, args, dict(spec.kwargs), skip)


def dataset(config):
  return _plugin(registry.DATASETS, config.data, "data")


def family(config):
  return _plugin(registry.LOSSES, config.loss, "loss")


def precision(config):
  """The precision plugin (None without a `precision:` section); it must name a
  Keras dtype policy (`policy`)."""
  if config.precision is None:
    return None
  plugin = _plugin(registry.PRECISIONS, config.precision, "precision")
  name = getattr(plugin, "policy", None)
  try:
    if not isinstance(name, str):
      raise TypeError(name)
    keras.dtype_policies.get(name)
  except (ValueError, TypeError):
    raise UserError(f"precision: {config.precision.name!r} names no Keras dtype policy "
                    f"(its `policy` is {name!r}); expected e.g. 'float32', "
                    "'mixed_float16', 'mixed_bfloat16'") from None
  return plugin


def penalties(config):
  terms = []
  for i, spec in enumerate(config.penalties):
    fn = _plugin(registry.PENALTIES, spec, f"penalties[{i}]")
    terms.append(PenaltyTerm(spec.name, fn, spec.weight, spec.every))
  return terms


def models(config, spec, keras_module=keras):
  """(generator, discriminator), built with `keras_module` (Keras 3 or tf_keras)."""
  generator = _plugin(registry.ARCHITECTURES, config.generator, "generator",
                      keras_module, spec, config.noise.dim, method="generator",
                      skip=("keras", "spec", "latent_dim"))
  discriminator = _plugin(registry.ARCHITECTURES, config.discriminator,
                          "discriminator", keras_module, spec,
                          method="discriminator", skip=("keras", "spec"))
  return generator, discriminator


def gan(config, spec):
  generator, discriminator = models(config, spec)
  return GAN(generator, discriminator, family(config), penalties(config))


def _optimizer_classes():
  skip = {"Optimizer", "LossScaleOptimizer", "MultiOptimizer"}  # wrappers, not rules
  return {n.lower(): c for n, c in vars(keras.optimizers).items()
          if inspect.isclass(c) and issubclass(c, keras.optimizers.Optimizer)
          and n not in skip}


def optimizer(spec, field):
  """A Keras optimizer from `{name, learning_rate, **kwargs}`."""
  classes = _optimizer_classes()
  if spec.name.lower() not in classes:
    raise UserError(f"{field}.name: {spec.name!r} is not allowed; choose one of: "
                    f"{', '.join(sorted(classes))}")
  return construct(field, spec.name, classes[spec.name.lower()], (),
                   {"learning_rate": spec.learning_rate, **dict(spec.kwargs)})


def optimizers(config):
  """{"shared": opt} for a plain one_step run, else {"d": opt, "g": opt}."""
  if not config_lib.separate_optimizers(config):
    return {"shared": optimizer(config.optimizer, "optimizer")}
  d_spec, g_spec = config_lib.network_optimizers(config)
  return {"d": optimizer(d_spec, "d_optimizer"), "g": optimizer(g_spec, "g_optimizer")}


def noise_fn(config):
  """rng, n -> a [n, dim] float32 noise batch from a tf.random.Generator."""
  dim = config.noise.dim
  if config.noise.distribution == "uniform":
    return lambda rng, n: rng.uniform([n, dim], -1.0, 1.0)
  return lambda rng, n: rng.normal([n, dim])


@dataclasses.dataclass
class Built:
  data: Any
  gan: GAN
  optimizers: dict
  noise_fn: Any
  precision: Any = None


def everything(config):
  """All live parts of a run, built and checked before any file is written.

  Keras' weight initialisers draw from the global seed: set it so `seed` fixes
  the initial weights too. The precision's dtype policy is set (always, so an
  earlier run in this process leaves none behind) before any network is built.
  """
  keras.utils.set_random_seed(config.seed)
  prec = precision(config)
  keras.mixed_precision.set_dtype_policy(prec.policy if prec else keras.config.floatx())
  data = dataset(config)
  built = Built(data, gan(config, data.spec), optimizers(config), noise_fn(config), prec)
  check_shapes(config, data.spec, built.gan)
  return built


def check_shapes(config, spec, the_gan):
  """One inference pass at the train batch size, so a network that does not fit
  the data (or the batch size) fails here as one line, not mid-run."""
  batch = config.train.batch_size
  z = tf.zeros([batch, config.noise.dim])
  try:
    fake = the_gan.generator(z, training=False)
  except Exception as e:  # pylint: disable=broad-except  (any plugin failure)
    raise UserError(f"generator: {config.generator.name!r} fails on noise of shape "
                    f"{[batch, config.noise.dim]}: {describe(e)}") from None
  if tuple(fake.shape[1:]) != tuple(spec.shape):
    raise UserError(f"generator: {config.generator.name!r} makes samples of shape "
                    f"{tuple(fake.shape[1:])}; data {config.data.name!r} has {tuple(spec.shape)}")
  try:
    the_gan.discriminator(fake, training=False)
  except Exception as e:  # pylint: disable=broad-except
    raise UserError(f"discriminator: {config.discriminator.name!r} fails on a batch of "
                    f"{batch} samples (train.batch_size): {describe(e)}") from None
