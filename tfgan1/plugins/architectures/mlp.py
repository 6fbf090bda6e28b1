"""Multilayer perceptrons for low-dimensional data (the 2-D toy mixtures).

Sizes follow PacGAN's toy experiments (Lin et al. 2018, arXiv:1712.04086):
G with four hidden layers of 400 units, D with three of 200; PacGAN's D uses
maxout units with 5 pieces (`activation: maxout, pieces: 5`).
"""
import math

from tfgan1 import ARCHITECTURES, UserError
from tfgan1.plugins.architectures import conditional as cond
from tfgan1.plugins.architectures import experts as experts_lib

LABEL_DIM = 16  # size of the label embedding a conditional mlp concatenates


def _check_units(field, units):
  if (not isinstance(units, (list, tuple)) or not units
      or not all(isinstance(u, int) and not isinstance(u, bool) and u > 0 for u in units)):
    raise UserError(f"{field}.hidden: {units!r} is not allowed; "
                    "expected a non-empty list of positive integers")


def _activation(field, name, pieces):
  allowed = ("elu", "gelu", "leaky_relu", "maxout", "relu", "tanh")
  if name not in allowed:
    raise UserError(f"{field}.activation: {name!r} is not allowed; "
                    f"choose one of: {', '.join(sorted(allowed))}")
  if isinstance(pieces, bool) or not isinstance(pieces, int) or pieces < 2:
    raise UserError(f"{field}.pieces: {pieces!r} is not allowed; "
                    "expected an integer >= 2 (the maxout pieces per unit)")
  return name


def _hidden_block(keras, x, units, activation, norm, pieces):
  """Dense, optional BatchNorm, activation. Maxout (Goodfellow et al. 2013,
  arXiv:1302.4389) keeps the largest of `pieces` linear units per output unit."""
  width = units * pieces if activation == "maxout" else units
  x = keras.layers.Dense(width)(x)
  if norm == "batch_norm":
    x = keras.layers.BatchNormalization()(x)
  if activation != "maxout":
    return keras.layers.Activation(activation)(x)
  # Built-in layers only, no Lambda: the EMA clones G through its config, and
  # Keras refuses to rebuild a Python lambda from one. Unit i's pieces are the
  # Dense columns i*pieces...(i+1)*pieces-1; the pooling takes their max.
  x = keras.layers.Reshape((units, pieces))(x)
  x = keras.layers.Permute((2, 1))(x)
  return keras.layers.GlobalMaxPooling1D()(x)


def _ops(keras):
  """The tensor-op namespace: `keras.ops` in Keras 3, `keras.backend` in tf_keras."""
  return getattr(keras, "ops", None) or keras.backend


@ARCHITECTURES.register("mlp")
class MLP:
  """Dense networks; `norm: batch_norm` adds BatchNorm after each hidden layer."""

  @staticmethod
  def generator(keras, spec, latent_dim, hidden=(400, 400, 400, 400),
                activation="relu", norm="none", conditional=False, pieces=5,
                experts=1, noise_distribution="normal"):
    """`conditional`: inputs [noise, labels]; a label embedding joins the noise.
    `pieces`: linear pieces per unit when `activation` is maxout.
    `experts` > 1: noise entry 0 picks one of that many output layers, the
    rest of the noise feeds the hidden layers (`experts.py`).
    `noise_distribution` is set by the run from `noise.distribution`: its
    quantiles split entry 0."""
    _check_units("generator", hidden)
    _activation("generator", activation, pieces)
    _norm("generator", norm)
    experts_lib.check(experts, noise_distribution, latent_dim)
    classes = cond.check_classes("generator", spec, conditional)
    z = keras.Input((latent_dim,))
    onehot, x = experts_lib.split(keras, z, experts, noise_distribution)
    inputs, x = _with_labels(keras, z, x, classes)
    for units in hidden:
      x = _hidden_block(keras, x, units, activation, norm, pieces)
    # float32 output whatever the precision policy: losses and samples expect it.
    x = experts_lib.heads(keras, x, onehot, experts, math.prod(spec.shape))
    out = keras.layers.Reshape(spec.shape, dtype="float32")(x)
    return keras.Model(inputs, out, name="generator")

  @staticmethod
  def discriminator(keras, spec, hidden=(200, 200, 200), activation="relu",
                    norm="none", dropout=0.0, pack=1, conditional=False, pieces=5):
    """`pack` > 1 is PacGAN packing: D judges `pack` samples at once, which
    penalises mode collapse; the batch size must be divisible by `pack`.
    `conditional`: inputs [samples, labels]; a label embedding joins them.
    `pieces`: linear pieces per unit when `activation` is maxout."""
    _check_units("discriminator", hidden)
    _activation("discriminator", activation, pieces)
    _norm("discriminator", norm)
    if isinstance(pack, bool) or not isinstance(pack, int) or pack < 1:
      raise UserError(f"discriminator.pack: {pack!r} is not allowed; "
                      "expected an integer >= 1")
    classes = cond.check_classes("discriminator", spec, conditional)
    if classes and pack > 1:
      raise UserError(f"discriminator.pack: {pack} is not allowed with conditional: "
                      "true; use pack: 1")
    samples = keras.Input(spec.shape)
    inputs, x = _with_labels(keras, samples, keras.layers.Flatten()(samples), classes)
    if pack > 1:
      width = pack * math.prod(spec.shape)
      x = keras.layers.Lambda(lambda t: _ops(keras).reshape(t, (-1, width)), name="pack")(x)
    for units in hidden:
      x = _hidden_block(keras, x, units, activation, norm, pieces)
      if dropout:  # breaks one-step compatibility: `--verify` reports it
        x = keras.layers.Dropout(dropout)(x)
    logits = keras.layers.Dense(1, dtype="float32")(x)
    return keras.Model(inputs, logits, name="discriminator")


def _with_labels(keras, inputs, x, classes):
  """(model inputs, x joined with a label embedding) when conditional, else as is."""
  if not classes:
    return inputs, x
  labels = cond.label_input(keras)
  embedded = keras.layers.Embedding(classes, LABEL_DIM)(labels)
  return [inputs, labels], keras.layers.Concatenate()([x, embedded])


def _norm(field, norm):
  if norm not in ("none", "batch_norm"):
    raise UserError(f"{field}.norm: {norm!r} is not allowed; "
                    "choose one of: batch_norm, none")
