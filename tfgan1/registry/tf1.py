"""Architecture plugins given as a pair of plain TF1 functions (no TensorFlow here).

A TF1 script's networks plug in unchanged, registered in one line::

    from tfgan1 import tf1_networks

    def generator(z, is_training):
      with tf.compat.v1.variable_scope("G", reuse=tf.compat.v1.AUTO_REUSE): ...
    def discriminator(x, is_training):
      with tf.compat.v1.variable_scope("D", reuse=tf.compat.v1.AUTO_REUSE): ...

    tf1_networks("my_nets", generator, discriminator)

and named by `generator.name` and `discriminator.name`. Only `train.backend:
tf1_graph` runs them (the backend's `Supports.tf1_functions`; the graph side is
`tfgan1.backends.tf1_graph.functions`).
"""
import inspect

from tfgan1.errors import UserError
from tfgan1.registry import ARCHITECTURES, contracts


def _check_signature(fn, role, args):
  try:
    inspect.signature(fn).bind(*args)
  except TypeError:
    raise UserError(f"tf1_networks: the {role} must be a function callable as "
                    f"{role}({', '.join(args)}); got {fn!r}") from None


class TF1Networks:
  """The registered object: `tf1_generator(z, is_training)` and
  `tf1_discriminator(x, is_training)`. Its Keras builders refuse in one line,
  as a backend without TF1 functions does before them."""
  tf1_functions = True  # the architecture contract's hook

  def __init__(self, key, generator, discriminator):
    _check_signature(generator, "generator", ("z", "is_training"))
    _check_signature(discriminator, "discriminator", ("x", "is_training"))
    self.key = key
    self.tf1_generator, self.tf1_discriminator = generator, discriminator
    # The registry names a duplicate key's owner by these.
    self.__module__ = getattr(generator, "__module__", __name__)
    self.__qualname__ = f"tf1_networks({key!r})"

  def _no_keras(self, *unused_args, **unused_kwargs):
    raise UserError(f"architecture {self.key!r} is a pair of TF1 functions "
                    "(tf1_networks), not a Keras builder; use train.backend=tf1_graph")

  def generator(self, keras, spec, latent_dim):
    self._no_keras(keras, spec, latent_dim)

  def discriminator(self, keras, spec):
    self._no_keras(keras, spec)


def tf1_networks(key, generator, discriminator):
  """Registers `generator(z, is_training)` and `discriminator(x, is_training)`
  (TF1 functions that build their variables under a variable scope each) as the
  architecture `key`; returns the registered object."""
  return ARCHITECTURES.register(key)(TF1Networks(key, generator, discriminator))


def is_tf1_functions(plugin):
  """Whether a registered architecture is a pair of TF1 functions."""
  return bool(contracts.hook(plugin, "architecture", "tf1_functions"))


def uses_tf1_functions(config):
  """Whether `config`'s generator or discriminator names TF1 functions."""
  return any(is_tf1_functions(ARCHITECTURES.get(getattr(config, f).name, f"{f}.name"))
             for f in ("generator", "discriminator"))
