"""Output experts for the mlp generator: K heads on one trunk, one picked per sample.

A generator that maps a connected noise space continuously cannot cover separate
modes without putting samples on the bridges between them (Khayatkhoei et al.
2018, "Disconnected Manifold Learning for Generative Adversarial Networks",
arXiv:1806.00880): on grid25 those bridges held most of the samples that missed a
mode. With `experts: K`, noise entry 0 picks one of K linear output heads on a
shared trunk that reads the other entries, so G can jump between heads instead of
crossing. It is MGAN's mixture of generators with shared parameters (Hoang et
al. 2018, arXiv:1708.02556), sharing all but the last layer, under a uniform
prior: each head gets 1/K of the noise mass, cut at the quantiles of entry 0's
distribution (the run's `noise.distribution`, which the core passes to the
builder as `noise_distribution`).

Builders receive the Keras module (Keras 3 or tf_keras), so the one custom layer
is made per module, like the spectral norm wrapper. The heads are one stock Dense
of K x outputs; a stock Dot picks the chosen head's row.
"""
import statistics

import tensorflow as tf

from tfgan1 import UserError

_CLASSES = {}
NOISES = ("normal", "uniform")


def boundaries(experts, noise):
  """The K-1 cut points that split noise entry 0 into K equally likely parts."""
  qs = [k / experts for k in range(1, experts)]
  if noise == "uniform":  # noise.distribution uniform draws from [-1, 1)
    return [2.0 * q - 1.0 for q in qs]
  return [statistics.NormalDist().inv_cdf(q) for q in qs]


def check(experts, noise, latent_dim):
  if isinstance(experts, bool) or not isinstance(experts, int) or experts < 1:
    raise UserError(f"generator.experts: {experts!r} is not allowed; expected an "
                    "integer >= 1 (1: a single output layer)")
  if noise not in NOISES:
    raise UserError(f"noise.distribution: {noise!r} is not allowed with generator.experts; "
                    f"choose one of: {', '.join(NOISES)}")
  if experts > 1 and latent_dim < 2:
    raise UserError(f"generator.experts: {experts} needs noise.dim >= 2 (entry 0 picks "
                    f"the expert, the rest feed the trunk); noise.dim is {latent_dim}")


def expert_choice(keras):
  """The `ExpertChoice` layer class for `keras` (Keras 3 or tf_keras), cached."""
  key = keras.__name__
  if key not in _CLASSES:
    _CLASSES[key] = _make_class(keras)
  return _CLASSES[key]


def _make_class(keras):

  class ExpertChoice(keras.layers.Layer):
    """z [batch, dim] -> (one-hot expert [batch, K], z[:, 1:] [batch, dim - 1])."""

    def __init__(self, cuts, **kwargs):
      super().__init__(**kwargs)
      self.cuts = [float(c) for c in cuts]

    def call(self, z):
      z = tf.convert_to_tensor(z)
      above = tf.cast(z[:, :1] >= tf.constant(self.cuts, z.dtype), tf.int32)
      index = tf.reduce_sum(above, axis=1)  # how many cuts entry 0 passes
      return tf.one_hot(index, len(self.cuts) + 1, dtype=z.dtype), z[:, 1:]

    def compute_output_shape(self, input_shape):
      return (input_shape[0], len(self.cuts) + 1), (input_shape[0], input_shape[1] - 1)

    def get_config(self):
      return {**super().get_config(), "cuts": self.cuts}

  ExpertChoice.__qualname__ = "ExpertChoice"
  try:  # registered so the EMA's clone_model and saved models find it by name
    keras.saving.register_keras_serializable("tfgan1")(ExpertChoice)
  except ValueError:  # tf_keras refuses a second registration (a reloaded module)
    pass
  return ExpertChoice


def split(keras, z, experts, noise):
  """(one-hot expert or None, the trunk's input) for noise `z`."""
  if experts == 1:
    return None, z
  return expert_choice(keras)(boundaries(experts, noise))(z)


def heads(keras, x, onehot, experts, outputs):
  """[batch, outputs] float32: the chosen head's linear output of features `x`."""
  if onehot is None:
    return keras.layers.Dense(outputs, dtype="float32")(x)
  # lecun_uniform: each head's fan-in is x's width, not the K x outputs of the Dense.
  y = keras.layers.Dense(experts * outputs, kernel_initializer="lecun_uniform",
                         dtype="float32")(x)
  y = keras.layers.Reshape((experts, outputs), dtype="float32")(y)
  return keras.layers.Dot(axes=(1, 1), dtype="float32")([onehot, y])
