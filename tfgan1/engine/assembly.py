"""Turns a checked Config into live objects: plugins, networks, optimizers, noise.

Everything a config names is built here, before the run loop touches the
workdir, so bad plugin names, kwargs or paths fail as one-line errors with
nothing on disk changed. Each plugin is checked against its kind's contract
(`tfgan1.registry.contracts`) as it is built.
"""
import dataclasses
from typing import Any

from tfgan1 import registry
from tfgan1 import tfimport
from tfgan1.engine import distribute
from tfgan1.engine import noise
from tfgan1.engine import optimizers as optimizers_lib
from tfgan1.engine import preflight
from tfgan1.engine.plugin_calls import call
from tfgan1.errors import UserError
from tfgan1.gan import augment
from tfgan1.gan.networks import Networks, PenaltyTerm
from tfgan1.registry import contracts

tf = tfimport.tensorflow()
keras = tfimport.keras()


def dataset(config):
  data = call(registry.DATASETS, config.data, "data")
  return contracts.check("data", config.data.name, data, "dataset")


def loss_family(spec):
  """The loss-family object of a `PluginSpec` (`{name, **kwargs}`), its contract checked."""
  obj = call(registry.LOSSES, spec, "loss")
  return contracts.check("loss", spec.name, obj, "loss")


def precision(config):
  """The precision plugin (None without a `precision:` section); it must name a
  Keras dtype policy (`policy`)."""
  if config.precision is None:
    return None
  plugin = call(registry.PRECISIONS, config.precision, "precision")
  name = contracts.hook(plugin, "precision", "policy")
  try:
    if not isinstance(name, str):
      raise TypeError(name)
    keras.dtype_policies.get(name)
  except (ValueError, TypeError):
    raise UserError(f"precision: {config.precision.name!r} names no Keras dtype policy "
                    f"(its `policy` is {name!r}); expected e.g. 'float32', "
                    "'mixed_float16', 'mixed_bfloat16'") from None
  return plugin


def penalty_terms(specs):
  """PenaltyTerms from `PenaltySpec`s (the config's `penalties` list)."""
  terms = []
  for i, spec in enumerate(specs):
    fn = call(registry.PENALTIES, spec, f"penalties[{i}]")
    side = penalty_side(f"penalties[{i}]", spec.name, fn)
    contracts.check(f"penalties[{i}]", spec.name, fn,
                    "penalty" if side == "d" else "generator_penalty")
    terms.append(PenaltyTerm(spec.name, fn, spec.weight, spec.every, side))
  return terms


def penalty_side(field, name, fn):
  """The penalty's declared side: "d" (trains D) or "g" (joins L_G, trains G)."""
  side = contracts.hook(fn, "penalty", "side")
  if side not in ("d", "g"):
    raise UserError(f"{field}: penalty plugin {name!r} declares side {side!r}; "
                    "allowed: 'd', 'g'")
  return side


def models(config, spec, keras_module=keras):
  """(generator, discriminator), built with `keras_module` (Keras 3 or tf_keras)."""
  for field in ("generator", "discriminator"):
    name = getattr(config, field).name
    contracts.check(field, name, registry.ARCHITECTURES.get(name, f"{field}.name"),
                    "architecture", only=(field,))
  given = {"noise_distribution": (config.noise.distribution, "noise.distribution")}
  generator = call(registry.ARCHITECTURES, config.generator, "generator",
                   keras_module, spec, config.noise.dim, method="generator",
                   skip=("keras", "spec", "latent_dim"), given=given)
  discriminator = call(registry.ARCHITECTURES, config.discriminator, "discriminator",
                       keras_module, spec, method="discriminator", skip=("keras", "spec"))
  return generator, discriminator


def networks(config, spec):
  """The `Networks` record of a run: both models, the loss family, penalties, augment."""
  generator, discriminator = models(config, spec)
  loss = loss_family(config.loss)
  return Networks(generator, discriminator, loss, penalty_terms(config.penalties),
                  augment.make(config, spec),
                  g_top_k=g_top_k(config.train.g_top_k, loss, config.loss.name))


def g_top_k(fraction, loss, loss_name):
  """`train.g_top_k`, refused below 1 for families whose L_G reads D(x) too."""
  if fraction < 1.0 and contracts.hook(loss, "loss", "generator_needs_real"):
    raise UserError(f"train.g_top_k: {fraction!r} is not allowed with loss "
                    f"{loss_name!r}, whose G loss reads D(x) as well; must be 1.0")
  return fraction


@dataclasses.dataclass
class Built:
  data: Any
  gan: Networks
  optimizers: optimizers_lib.OptimizerRoles
  noise_fn: Any
  precision: Any = None
  preview: Any = None  # (G's samples at zero noise, their labels): check_shapes'


def everything(config, strategy=None):
  """All live parts of a run, built and checked before any file is written.

  Keras' weight initialisers draw from the global seed: set it so `seed` fixes
  the initial weights too. The precision's dtype policy is set (always, so an
  earlier run in this process leaves none behind) before any network is built.
  Networks and optimizers are built in the scope of `strategy` (None: one device).
  """
  keras.utils.set_random_seed(config.seed)
  preflight.check_noise_size(config)
  prec = precision(config)
  policy = contracts.hook(prec, "precision", "policy") if prec else keras.config.floatx()
  keras.mixed_precision.set_dtype_policy(policy)
  data = dataset(config)
  with distribute.scope(strategy):
    built = Built(data, networks(config, data.spec), optimizers_lib.make(config),
                  noise.noise_fn(config, data), prec)
  if config.distribute.sync_batch_norm and strategy is not None:  # one device: no-op
    distribute.synchronize_batch_norm(built.gan)
  built.preview = preflight.check_shapes(
      config, data.spec, built.gan, strategy.num_replicas_in_sync if strategy else 1)
  return built
