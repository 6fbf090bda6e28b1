"""Turns a checked Config into live objects: plugins, models, optimizers, noise.

Everything a config names is built here, before the run loop touches the
workdir, so bad plugin names, kwargs or paths fail as one-line errors with
nothing on disk changed.
"""
import dataclasses
import inspect
import os
from typing import Any

import numpy as np

from tfgan1 import augment
from tfgan1 import config as config_lib
from tfgan1 import distribute
from tfgan1 import registry
from tfgan1 import routing
from tfgan1 import schedules
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
  except (ValueError, TypeError, tf.errors.InvalidArgumentError) as e:
    raise UserError(f"{field}: {name!r} rejected its arguments: {describe(e)}") from None
  except _ALLOCATION_ERRORS as e:
    raise _too_big(field, name, e) from None


# What TF, numpy and Python raise when a size from the config cannot be allocated.
_ALLOCATION_ERRORS = (MemoryError, OverflowError, tf.errors.ResourceExhaustedError)


def _too_big(field, name, err):
  return UserError(f"{field}: {name!r} cannot be allocated with these sizes "
                   f"(noise.dim, train.batch_size, layer widths): {describe(err)}")


# The methods a plugin of each kind must have: {kind: [(method, positional args)]}.
# None means the plugin object itself is called.
INTERFACES = {
    "loss": [("discriminator_loss", ("real_logits", "fake_logits")),
             ("generator_loss", ("fake_logits", "real_logits"))],
    "penalty": [(None, ("d_call", "real", "fake", "seed"))],
}


def check_interface(field, name, obj, kind):
  """A built plugin has every method its kind needs, taking the arguments the
  engine passes; found when it is built, not at the first train step."""
  for method, args in INTERFACES[kind]:
    fn = obj if method is None else getattr(obj, method, None)
    what = f"{method}({', '.join(args)})" if method else f"a callable ({', '.join(args)})"
    if not callable(fn):
      raise UserError(f"{field}: {kind} plugin {name!r} has no {what}; a {kind} "
                      f"plugin needs {_needs(kind)}")
    try:
      inspect.signature(fn).bind(*args)
    except TypeError as e:
      raise UserError(f"{field}: {kind} plugin {name!r}: {what} cannot be called "
                      f"with {len(args)} arguments ({e}); a {kind} plugin needs "
                      f"{_needs(kind)}") from None
    except ValueError:  # no signature (a builtin): trust it
      pass
  return obj


def _needs(kind):
  return " and ".join(f"{m or 'to be callable as'}({', '.join(a)})"
                      for m, a in INTERFACES[kind])


def _plugin(reg, spec, field, *args, method=None, skip=(), given=None):
  """`given`: keyword arguments the run sets for a builder that declares them
  (never the user: the config section may not name them)."""
  obj = reg.get(spec.name, f"{field}.name")
  fn = getattr(obj, method) if method else obj
  kwargs = dict(spec.kwargs)
  for key, (value, source) in (given or {}).items():
    if key in kwargs:
      raise UserError(f"{field}.{key}: {kwargs[key]!r} is not allowed; it is set from "
                      f"{source} ({value!r})")
    if key in inspect.signature(fn).parameters:
      kwargs[key] = value
  return construct(field, spec.name, fn, args, kwargs, skip + tuple(given or ()))


def dataset(config):
  return _plugin(registry.DATASETS, config.data, "data")


def family(config):
  return loss_family(config.loss)


def loss_family(spec):
  """The loss-family object of a `PluginSpec` (`{name, **kwargs}`), its interface checked."""
  obj = _plugin(registry.LOSSES, spec, "loss")
  return check_interface("loss", spec.name, obj, "loss")


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
  return penalty_terms(config.penalties)


def penalty_terms(specs):
  """PenaltyTerms from `PenaltySpec`s (the config's `penalties` list)."""
  terms = []
  for i, spec in enumerate(specs):
    fn = _plugin(registry.PENALTIES, spec, f"penalties[{i}]")
    check_interface(f"penalties[{i}]", spec.name, fn, "penalty")
    terms.append(PenaltyTerm(spec.name, fn, spec.weight, spec.every))
  return terms


def models(config, spec, keras_module=keras):
  """(generator, discriminator), built with `keras_module` (Keras 3 or tf_keras)."""
  given = {"noise_distribution": (config.noise.distribution, "noise.distribution")}
  generator = _plugin(registry.ARCHITECTURES, config.generator, "generator",
                      keras_module, spec, config.noise.dim, method="generator",
                      skip=("keras", "spec", "latent_dim"), given=given)
  discriminator = _plugin(registry.ARCHITECTURES, config.discriminator,
                          "discriminator", keras_module, spec,
                          method="discriminator", skip=("keras", "spec"))
  return generator, discriminator


def gan(config, spec):
  generator, discriminator = models(config, spec)
  loss = family(config)
  return GAN(generator, discriminator, loss, penalties(config),
             augment.make(config, spec),
             g_top_k=g_top_k(config.train.g_top_k, loss, config.loss.name))


def g_top_k(fraction, loss, loss_name):
  """`train.g_top_k`, refused below 1 for families whose L_G reads D(x) too."""
  if fraction < 1.0 and getattr(loss, "generator_needs_real", False):
    raise UserError(f"train.g_top_k: {fraction!r} is not allowed with loss "
                    f"{loss_name!r}, whose G loss reads D(x) as well; must be 1.0")
  return fraction


def _optimizer_classes():
  skip = {"Optimizer", "LossScaleOptimizer", "MultiOptimizer"}  # wrappers, not rules
  return {n.lower(): c for n, c in vars(keras.optimizers).items()
          if inspect.isclass(c) and issubclass(c, keras.optimizers.Optimizer)
          and n not in skip}


def optimizer(spec, field, updates_per_step=1):
  """A Keras optimizer from `{name, learning_rate, **kwargs}`; the learning rate
  may be a schedule, read at the optimizer's own (checkpointed) iteration count
  // `updates_per_step` (see `schedules.make`)."""
  classes = _optimizer_classes()
  if spec.name.lower() not in classes:
    raise UserError(f"{field}.name: {spec.name!r} is not allowed; choose one of: "
                    f"{', '.join(sorted(classes))}")
  return construct(field, spec.name, classes[spec.name.lower()], (),
                   {"learning_rate": schedules.make(spec.learning_rate, updates_per_step),
                    **dict(spec.kwargs)})


def optimizers(config):
  """{"shared": opt} for a plain one_step run, else {"d": opt, "g": opt}."""
  if not config_lib.separate_optimizers(config):
    return {"shared": optimizer(config.optimizer, "optimizer")}
  d_spec, g_spec = config_lib.network_optimizers(config)
  alternating = config.train.rule == "alternating"  # the only rule with n_d, n_g
  return {"d": optimizer(d_spec, "d_optimizer", config.train.n_d if alternating else 1),
          "g": optimizer(g_spec, "g_optimizer", config.train.n_g if alternating else 1)}


def noise_sampler(noise):
  """The noise function of a `NoiseConfig` (`dim`, `distribution`)."""
  dim = noise.dim
  if noise.distribution == "uniform":
    return lambda rng, n: rng.uniform([n, dim], -1.0, 1.0)
  return lambda rng, n: rng.normal([n, dim])


def noise_fn(config, data=None):
  """rng, n -> a [n, dim] float32 noise batch from a tf.random.Generator.

  For labelled data (`spec.num_classes`), (noise, int32 labels) instead: the
  same RNG draws the fake labels from the data's class distribution (its
  `class_probs`, else uniform), so a resumed run draws the same labels.
  """
  draw = noise_sampler(config.noise)
  classes = data.spec.num_classes if data is not None else None
  if not classes:
    return draw
  probs = getattr(data, "class_probs", None)
  cdf = tf.constant(np.cumsum(probs if probs is not None else np.ones(classes) / classes),
                    tf.float32)

  def with_labels(rng, n):
    z = draw(rng, n)
    labels = tf.searchsorted(cdf, rng.uniform([n]), side="right")
    return z, tf.minimum(tf.cast(labels, tf.int32), classes - 1)
  return with_labels


@dataclasses.dataclass
class Built:
  data: Any
  gan: GAN
  optimizers: dict
  noise_fn: Any
  precision: Any = None


def everything(config, strategy=None):
  """All live parts of a run, built and checked before any file is written.

  Keras' weight initialisers draw from the global seed: set it so `seed` fixes
  the initial weights too. The precision's dtype policy is set (always, so an
  earlier run in this process leaves none behind) before any network is built.
  Networks and optimizers are built in the scope of `strategy` (None: one device).
  """
  keras.utils.set_random_seed(config.seed)
  check_noise_size(config)
  prec = precision(config)
  keras.mixed_precision.set_dtype_policy(prec.policy if prec else keras.config.floatx())
  data = dataset(config)
  with distribute.scope(strategy):
    built = Built(data, gan(config, data.spec), optimizers(config), noise_fn(config, data), prec)
  if config.distribute.sync_batch_norm and strategy is not None:  # one device: no-op
    distribute.synchronize_batch_norm(built.gan)
  check_shapes(config, data.spec, built.gan,
               strategy.num_replicas_in_sync if strategy is not None else 1)
  return built


def _memory_bytes():
  try:
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
  except (AttributeError, ValueError, OSError):  # not POSIX: no up-front check
    return None


def check_noise_size(config):
  """A noise batch larger than the machine's memory fails here at once (TF's
  allocator would wait and retry for 10 s before it gives up)."""
  size = 4 * config.train.batch_size * config.noise.dim
  memory = _memory_bytes()
  if memory and size > memory:
    raise UserError(f"noise.dim: {config.noise.dim} x train.batch_size "
                    f"{config.train.batch_size} floats ({size / 2**30:.3g} GiB) cannot be "
                    f"allocated; this machine has {memory / 2**30:.3g} GiB")


def check_shapes(config, spec, the_gan, replicas=1):
  """One inference pass at the train batch size (per replica), so a network that
  does not fit the data (or the batch size) fails here as one line, not mid-run."""
  batch = config.train.batch_size // replicas
  what = "train.batch_size" + (f" / {replicas} replicas" if replicas > 1 else "")
  labels = tf.zeros([batch], tf.int32) if spec.num_classes else None
  with_labels = (lambda x: x) if labels is None else (lambda x: [x, labels])
  try:
    z = tf.zeros([batch, config.noise.dim])
    fake = the_gan.generator(with_labels(z), training=False)
  except _ALLOCATION_ERRORS as e:
    raise _too_big("generator", config.generator.name, e) from None
  except Exception as e:  # pylint: disable=broad-except  (any plugin failure)
    raise UserError(f"generator: {config.generator.name!r} fails on noise of shape "
                    f"{[batch, config.noise.dim]}: {describe(e)}") from None
  if tuple(fake.shape[1:]) != tuple(spec.shape):
    raise UserError(f"generator: {config.generator.name!r} makes samples of shape "
                    f"{tuple(fake.shape[1:])}; data {config.data.name!r} has {tuple(spec.shape)}")
  try:
    the_gan.discriminator(with_labels(fake), training=False)
  except Exception as e:  # pylint: disable=broad-except
    raise UserError(f"discriminator: {config.discriminator.name!r} fails on a batch of "
                    f"{batch} samples ({what}): {describe(e)}") from None
  train = config.train  # tf1_graph computes the classic form whatever the setting
  if train.rule == "one_step" and train.one_step_form == "shared" and train.backend == "tf2":
    routing.check_per_sample(the_gan.discriminator, fake, labels,
                             f"discriminator {config.discriminator.name!r}")
