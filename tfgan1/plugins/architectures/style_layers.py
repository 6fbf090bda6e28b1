"""Keras layers for StyleGAN2 and BigGAN, made per Keras module (Keras 3 or
tf_keras) like the spectral-norm wrapper: `style_layers.get(keras).NAME`.

Equalized learning rate (Karras et al. 2018, as StyleGAN2): weights are stored
N(0, 1) / lr_mul and scaled by lr_mul / sqrt(fan_in) at run time, biases by
lr_mul. Every forward pass assigns nothing, so D stays a pure function.
"""
import math
import types

import tensorflow as tf

from tfgan1.plugins.architectures import style_ops as ops

_CACHE = {}


def get(keras):
  """The layer classes for `keras`, cached (a SimpleNamespace)."""
  if keras.__name__ not in _CACHE:
    _CACHE[keras.__name__] = _make(keras)
  return _CACHE[keras.__name__]


def _register(keras, cls):
  cls.__qualname__ = cls.__name__
  try:  # clone_model (the EMA) and saved models find the class by name
    keras.saving.register_keras_serializable("tfgan1")(cls)
  except ValueError:  # tf_keras refuses a second registration
    pass
  return cls


def _make(keras):
  base = keras.layers.Layer
  normal = lambda s: keras.initializers.RandomNormal(0.0, s)  # noqa: E731

  class Configured(base):
    """A layer whose constructor keywords are its config."""

    def __init__(self, **kwargs):
      own = {k: kwargs.pop(k) for k in list(kwargs) if k in self.OWN}
      super().__init__(**kwargs)
      self.own = {**self.OWN, **own}
      for k, v in self.own.items():
        setattr(self, k, v)

    def get_config(self):
      return {**super().get_config(), **self.own}

  class EqualDense(Configured):
    """Dense with equalized learning rate; `act` 'linear' or 'lrelu'."""
    OWN = {"units": 1, "lr_mul": 1.0, "bias_init": 0.0, "act": "linear"}

    def build(self, shape):
      self.w = self.add_weight(name="kernel", shape=(int(shape[-1]), self.units),
                               initializer=normal(1.0 / self.lr_mul))
      self.b = self.add_weight(name="bias", shape=(self.units,),
                               initializer=keras.initializers.Constant(self.bias_init / self.lr_mul))

    def call(self, x):
      gain = self.lr_mul / math.sqrt(self.w.shape[0])
      y = tf.matmul(x, tf.cast(self.w * gain, x.dtype)) + tf.cast(self.b * self.lr_mul, x.dtype)
      return ops.lrelu(y) if self.act == "lrelu" else y

  class EqualConv(Configured):
    """Conv2D with equalized learning rate; `down` halves the resolution as
    conv2d_resample does; `gain` scales the output (sqrt(1/2) in D's blocks)."""
    OWN = {"filters": 1, "kernel": 3, "act": "lrelu", "use_bias": True, "down": False,
           "gain": 1.0}

    def build(self, shape):
      self.w = self.add_weight(name="kernel", initializer=normal(1.0), shape=(
          self.kernel, self.kernel, int(shape[-1]), self.filters))
      if self.use_bias:
        self.b = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")

    def call(self, x):
      w = tf.cast(self.w / math.sqrt(self.kernel * self.kernel * self.w.shape[2]), x.dtype)
      if self.down and self.kernel > 1:
        y = ops.conv_down(x, w)
      else:
        y = tf.nn.conv2d(ops.downsample2x(x) if self.down else x, w, 1, "SAME")
      if self.use_bias:
        y = y + tf.cast(self.b, y.dtype)
      y = ops.lrelu(y) if self.act == "lrelu" else y
      return y * self.gain if self.gain != 1.0 else y

  class ModConv(Configured):
    """Inputs [x, styles, z]: modulated conv (`up`: FIR upsample first), then
    (noise) per-pixel noise seeded from z times a learned strength, bias, act."""
    OWN = {"filters": 1, "kernel": 3, "demodulate": True, "up": False, "noise": True,
           "act": "lrelu", "salt": 0}

    def build(self, shapes):
      fan_in = int(shapes[0][-1])
      self.w = self.add_weight(name="kernel", initializer=normal(1.0), shape=(
          self.kernel, self.kernel, fan_in, self.filters))
      self.b = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")
      if self.noise:
        self.strength = self.add_weight(name="noise_strength", shape=(), initializer="zeros")

    def call(self, inputs):
      x, styles, z = inputs
      x = ops.upsample2x(x) if self.up else x
      gain = 1.0 / math.sqrt(self.kernel * self.kernel * self.w.shape[2])
      if self.demodulate:  # the weight gain cancels in demodulation; kept as official
        y = ops.modulated_conv(x, self.w * gain, styles, True)
      else:  # ToRGB: the gain goes on the styles (official ToRGBLayer)
        y = ops.modulated_conv(x, self.w, styles * gain, False)
      if self.noise:
        shape = tf.concat([tf.shape(y)[:3], [1]], 0)
        n = tf.random.stateless_normal(shape, ops.latent_seed(z, self.salt), dtype=y.dtype)
        y = y + n * tf.cast(self.strength, y.dtype)
      y = y + tf.cast(self.b, y.dtype)
      return ops.lrelu(y) if self.act == "lrelu" else y

  class ConstInput(Configured):
    """The learned 4x4 start of the synthesis network, one copy per sample of z."""
    OWN = {"channels": 1}

    def build(self, shape):
      self.const = self.add_weight(name="const", shape=(4, 4, self.channels),
                                   initializer=normal(1.0))

    def call(self, z):
      return tf.tile(tf.cast(self.const, z.dtype)[None], [tf.shape(z)[0], 1, 1, 1])

  class Normalize(Configured):
    """x / sqrt(mean(x^2) + 1e-8) over the last axis (normalize_2nd_moment)."""
    OWN = {}

    def call(self, x):
      return tf.cast(ops.normalize_2nd_moment(x), x.dtype)

  class Upsample(Configured):
    OWN = {}

    def call(self, x):
      return ops.upsample2x(x)

  class MinibatchStd(Configured):
    """Appends the minibatch standard deviation maps: couples the batch."""
    OWN = {"group": 4, "channels": 1}

    def call(self, x):
      return ops.minibatch_stddev(x, self.group, self.channels)

  class MixingLatent(Configured):
    """Training only: a second latent, drawn from a seed hashed from z (the
    style-mixing partner). At inference: z itself (no mixing)."""
    OWN = {}

    def call(self, z, training=None):
      if not training:
        return z
      return tf.random.stateless_normal(tf.shape(z), ops.latent_seed(z, 7919), dtype=z.dtype)

  class StyleMix(Configured):
    """Inputs [w, w2, z] -> ws [B, num_ws, w_dim]. Training: with probability
    `prob` per sample, layers from a random cutoff on read w2 (the paper's
    mixing regularisation, cutoff uniform in [1, num_ws)); otherwise all w."""
    OWN = {"num_ws": 1, "prob": 0.0}

    def call(self, inputs, training=None):
      w, w2, z = inputs
      ws = tf.tile(w[:, None, :], [1, self.num_ws, 1])
      if not training or self.prob <= 0.0:
        return ws
      batch = tf.shape(w)[:1]
      seed = ops.latent_seed(z, 104729)
      cutoff = tf.random.stateless_uniform(batch, seed, 1, self.num_ws, dtype=tf.int32)
      mixed = tf.random.stateless_uniform(batch, seed + 1) < self.prob
      cutoff = tf.where(mixed, cutoff, self.num_ws)
      later = tf.range(self.num_ws)[None, :] >= cutoff[:, None]     # [B, num_ws]
      return tf.where(later[:, :, None], tf.tile(w2[:, None, :], [1, self.num_ws, 1]), ws)

  class PickStyle(Configured):
    """ws [B, num_ws, w_dim] -> ws[:, index]."""
    OWN = {"index": 0}

    def call(self, ws):
      return ws[:, self.index]

  class ScalarGain(Configured):
    """x * gamma, one learned scalar starting at 0 (SAGAN's attention gain)."""
    OWN = {}

    def build(self, shape):
      self.gamma = self.add_weight(name="gamma", shape=(), initializer="zeros")

    def call(self, x):
      return x * tf.cast(self.gamma, x.dtype)

  classes = [EqualDense, EqualConv, ModConv, ConstInput, Normalize, Upsample,
             MinibatchStd, MixingLatent, StyleMix, PickStyle, ScalarGain]
  return types.SimpleNamespace(**{c.__name__: _register(keras, c) for c in classes})
