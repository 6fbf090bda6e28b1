"""What `train.backend: tf1_graph` refuses, checked before anything is built.

Each refusal is one line naming the key. The TF1 graph has no `tf.function`
to XLA-compile (`train.jit_compile`), runs in float32 on one device (the
`precision:` and `distribute:` sections), has no on-device conditional update
(`train.on_nonfinite: skip`) and only optimizers with a `tf.compat.v1.train` twin.
A plugin class that sets `needs_eager = True` is refused by its section; any
other plugin that fails to build in graph mode is reported as one line too.
"""
from tfgan1 import registry
from tfgan1 import tf1_optimizers
from tfgan1.errors import UserError, describe

_BACKEND = "train.backend=tf1_graph"


def _refuse(key, value, allowed):
  raise UserError(f"{key}: {value!r} is not supported with {_BACKEND}; {allowed}")


def _section(config, section, key):
  return getattr(getattr(config, section, None), key, None)  # sections of other issues


def _plugins(config):
  """(field, registry, name) of every plugin section the graph builds."""
  yield "generator.name", registry.ARCHITECTURES, config.generator.name
  yield "discriminator.name", registry.ARCHITECTURES, config.discriminator.name
  yield "loss.name", registry.LOSSES, config.loss.name
  for i, spec in enumerate(config.penalties):
    yield f"penalties[{i}].name", registry.PENALTIES, spec.name


def check(config):
  """Raises UserError for a config the TF1 graph backend cannot run."""
  if config.train.jit_compile:
    _refuse("train.jit_compile", True, "set it to false (XLA compiles tf.function "
            "steps; the TF1 graph has none)")
  precision = _section(config, "precision", "name")
  if precision not in (None, "float32"):
    _refuse("precision.name", precision, "allowed: float32")
  strategy = _section(config, "distribute", "strategy")
  if strategy not in (None, "default"):
    _refuse("distribute.strategy", strategy, "allowed: default")
  if getattr(config.train, "on_nonfinite", None) == "skip":
    _refuse("train.on_nonfinite", "skip", "allowed: stop")
  for field, reg, name in _plugins(config):
    if getattr(reg.get(name, field), "needs_eager", False):
      _refuse(field, name, "this plugin needs eager execution; use train.backend=tf2")
  tf1_optimizers.check_all(config)


def building(fn):
  """fn() (which builds the graph), with a plugin's graph-mode failure as one line."""
  try:
    return fn()
  except UserError:
    raise
  except Exception as e:  # pylint: disable=broad-except  (any plugin failure)
    raise UserError(f"train.backend: 'tf1_graph' cannot build this config's graph "
                    f"({describe(e)}); a plugin may need eager execution: use "
                    "train.backend=tf2") from None
