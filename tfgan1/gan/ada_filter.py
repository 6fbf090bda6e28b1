"""ADA's image-space filtering (Karras et al. 2020, "Training Generative
Adversarial Networks with Limited Data", Appendix B.3): each of four frequency
bands of an image is amplified or attenuated by 2^N(0, 1), with probability p
per band, the gains normalised so the image keeps its expected power.

The bands are those of the reference (NVlabs/stylegan2-ada-pytorch, training/
augment.py, AugmentPipe: `imgfilter_bands` [1, 1, 1, 1], `imgfilter_std` 1,
expected power [10, 1, 1, 1] / 13): a 43-tap filter bank built from the sym2
wavelet, whose four rows sum to the identity filter. An image is filtered
separably (rows, then columns) with the sum of the rows weighted by its gains,
its edges reflected. Unlike the other ops, this one draws its own coin for
each band, so the pipeline hands it p (its `own_probability` mark).
"""
import numpy as np
import scipy.signal

from tfgan1 import tfimport
from tfgan1.gan.ada_geometry import reflect
from tfgan1.gan.ada_ops import fold

tf = tfimport.tensorflow()

# The sym2 wavelet's low-pass decomposition filter (the reference's `wavelets`).
SYM2 = (-0.12940952255092145, 0.22414386804185735, 0.836516303737469, 0.48296291314469025)
EXPECTED_POWER = np.array([10.0, 1.0, 1.0, 1.0]) / 13.0  # a 1/f spectrum over the bands


def filter_bank():
  """[4, 43]: band i's symmetric filter, lowest band first; the rows sum to a delta.

  Each step splits the lowest band in two: the bank so far is upsampled by 2,
  smoothed by the half-band low-pass H(z)H(1/z)/2, and the new band gets the
  high-pass H(-z)H(-1/z)/2 at its centre.
  """
  low = np.asarray(SYM2)
  high = low * (-1.0) ** np.arange(low.size)
  low2 = np.convolve(low, low[::-1]) / 2
  high2 = np.convolve(high, high[::-1]) / 2
  bank = np.eye(4, 1)
  for i in range(1, 4):
    bank = np.dstack([bank, np.zeros_like(bank)]).reshape(4, -1)[:, :-1]
    bank = scipy.signal.convolve(bank, [low2])
    start = (bank.shape[1] - high2.size) // 2
    bank[i, start:start + high2.size] += high2
  return bank


def band_gains(x, seed, p):
  """[B, 4]: each image's gain per band, each band drawn with probability p."""
  batch = tf.shape(x)[0]
  power = tf.constant(EXPECTED_POWER, tf.float32)
  gains = tf.ones([batch, 4])
  for i in range(4):
    t_i = tf.pow(2.0, tf.random.stateless_normal([batch], fold(seed, 2 * i)))
    drawn = tf.random.stateless_uniform([batch], fold(seed, 2 * i + 1)) < p
    t = 1.0 + tf.one_hot(i, 4)[None] * (tf.where(drawn, t_i, 1.0) - 1.0)[:, None]
    gains *= t / tf.sqrt(tf.reduce_sum(power * t * t, axis=1, keepdims=True))
  return gains


def _reflected(x, pad, axis):
  """x padded by `pad` on both sides of `axis`, reflected (any image size)."""
  size = x.shape[axis]
  index = reflect(tf.range(-pad, size + pad, dtype=tf.float32), size)
  return tf.gather(x, tf.cast(index, tf.int32), axis=axis)


def _filter_axis(x, per_image, axis):
  """Each image of x [B, H, W, C] convolved along `axis` (1 or 2) with its own
  row of `per_image` [B, taps], edges reflected."""
  b, h, w, c = tf.shape(x)[0], x.shape[1], x.shape[2], x.shape[-1]
  taps = per_image.shape[1]
  x = _reflected(x, taps // 2, axis)
  # The images side by side as channels: one depthwise pass, a kernel each.
  x = tf.reshape(tf.transpose(x, [1, 2, 0, 3]), [1, x.shape[1], x.shape[2], -1])
  kernel = tf.transpose(tf.cast(tf.repeat(per_image, c, axis=0), x.dtype))  # [taps, B * C]
  kernel = kernel[:, None, :, None] if axis == 1 else kernel[None, :, :, None]
  y = tf.nn.depthwise_conv2d(x, kernel, [1, 1, 1, 1], "VALID")
  return tf.transpose(tf.reshape(y, [h, w, b, c]), [2, 0, 1, 3])


def imgfilter(x, seed, p):
  """Filters each image with its own band gains (`band_gains`)."""
  per_image = tf.matmul(band_gains(x, seed, p), tf.constant(filter_bank(), tf.float32))
  return _filter_axis(_filter_axis(x, per_image, 1), per_image, 2)


imgfilter.own_probability = True  # Augment hands it p instead of gating it
OPS = {"imgfilter": imgfilter}
