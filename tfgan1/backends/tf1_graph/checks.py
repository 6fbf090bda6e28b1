"""What `train.backend: tf1_graph` refuses, checked before anything is built.

Each refusal is one line naming the key. The TF1 graph has no `tf.function`
to XLA-compile (`train.jit_compile`), runs in float32 on one device (the
`precision:` and `distribute:` sections) and has only optimizers with a
`tf.compat.v1.train` twin.
A plugin class that sets `needs_eager = True` is refused by its section; any
other plugin that fails to build in graph mode is reported as one line too.
"""
from tfgan1 import registry
from tfgan1.backends.protocol import Supports
from tfgan1.backends.tf1_graph import functions
from tfgan1.backends.tf1_graph import graph as graph_lib
from tfgan1.backends.tf1_graph import optimizers as tf1_optimizers
from tfgan1.errors import UserError, describe
from tfgan1.registry import contracts

# What the graph can run; `Supports.check` refuses the rest as one line.
SUPPORTS = Supports(rules=graph_lib.RULES, jit_compile=False, precisions=("float32",),
                    strategies=("default",), optimizers=tf1_optimizers.NAMES,
                    eager_plugins=False, augment=False, tf1_functions=True)


def _plugins(config):
  """(field, registry, name) of every plugin section the graph builds."""
  yield "generator.name", registry.ARCHITECTURES, config.generator.name
  yield "discriminator.name", registry.ARCHITECTURES, config.discriminator.name
  yield "loss.name", registry.LOSSES, config.loss.name
  for i, spec in enumerate(config.penalties):
    yield f"penalties[{i}].name", registry.PENALTIES, spec.name


def check(config):
  """Raises UserError for a config the TF1 graph backend cannot run."""
  SUPPORTS.check(config, "tf1_graph")
  for field, reg, name in _plugins(config):
    if not SUPPORTS.eager_plugins and contracts.hook(reg.get(name, field), reg.kind,
                                                     "needs_eager"):
      raise UserError(f"{field}: {name!r} is not supported with train.backend=tf1_graph; "
                      "this plugin needs eager execution; use train.backend=tf2")
  tf1_optimizers.check_all(config)
  functions.check(config)


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
