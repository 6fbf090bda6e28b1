"""ADA's general geometric transformations (Karras et al. 2020, "Training
Generative Adversarial Networks with Limited Data", Appendix B.1): isotropic
scaling, arbitrary rotation, anisotropic scaling and fractional translation,
stateless, for NHWC images.

Parameters are the reference's (NVlabs/stylegan2-ada-pytorch, training/
augment.py, AugmentPipe: scale_std 0.2, rotate_max 1, aniso_std 0.2,
xfrac_std 0.125). Each op maps every output pixel back to the input through
an inverse affine transform about the image centre (the reference's G_inv),
reflects coordinates that fall outside (its `reflect` padding) and samples
bilinearly. The sampling is gathers and products, so gradients reach every
input pixel exactly, as DiffAugment's G term needs.

Differences from the reference, which composes every geometric op of an image
into one transform: each op here resamples on its own, without the reference's
2x supersampling through a symmetric wavelet low-pass; `rotate` is one
rotation where the reference splits it around `aniso` (a pre- and a
post-rotation, each with probability 1 - sqrt(1 - p)); and `aniso` scales
along a uniformly random axis, the direction those two rotations give it.
"""
import math

from tfgan1 import tfimport
from tfgan1.gan.ada_ops import fold

tf = tfimport.tensorflow()


def _per_image(x, seed, draw=tf.random.stateless_normal, **kwargs):
  return draw([tf.shape(x)[0]], seed, dtype=tf.float32, **kwargs)


def reflect(t, size):
  """Coordinates reflected into [0, size - 1] (reflect padding: -1 reads 1)."""
  if size == 1:
    return tf.zeros_like(t)
  period = 2.0 * (size - 1)
  t = tf.math.floormod(t, period)
  return tf.where(t > size - 1, period - t, t)


def resample(x, inverse):
  """x [B, H, W, C] sampled at inverse @ (u, v, 1) for each output pixel.

  `inverse` [B, 2, 3] maps output coordinates to input coordinates, both
  centred on the image ((W - 1) / 2, (H - 1) / 2 is the origin).
  """
  h, w = x.shape[1], x.shape[2]
  v, u = tf.meshgrid(tf.range(h, dtype=tf.float32) - (h - 1) / 2,
                     tf.range(w, dtype=tf.float32) - (w - 1) / 2, indexing="ij")
  grid = tf.stack([u, v, tf.ones_like(u)], axis=-1)            # [H, W, 3]
  src = tf.einsum("bij,hwj->bhwi", inverse, grid)               # [B, H, W, 2]
  sx = reflect(src[..., 0] + (w - 1) / 2, w)
  sy = reflect(src[..., 1] + (h - 1) / 2, h)
  x0, y0 = tf.floor(sx), tf.floor(sy)
  fx, fy = (sx - x0)[..., None], (sy - y0)[..., None]
  x0, y0 = tf.cast(x0, tf.int32), tf.cast(y0, tf.int32)
  x1, y1 = tf.minimum(x0 + 1, w - 1), tf.minimum(y0 + 1, h - 1)
  at = lambda yy, xx: tf.gather_nd(x, tf.stack([yy, xx], -1), batch_dims=1)  # noqa: E731
  fx, fy = tf.cast(fx, x.dtype), tf.cast(fy, x.dtype)
  top = at(y0, x0) * (1 - fx) + at(y0, x1) * fx
  bottom = at(y1, x0) * (1 - fx) + at(y1, x1) * fx
  return top * (1 - fy) + bottom * fy


def _matrix(a, b, c, d, tx=None, ty=None):
  """[B, 2, 3] from per-image entries [[a, b, tx], [c, d, ty]]."""
  zero = tf.zeros_like(a)
  tx = zero if tx is None else tx
  ty = zero if ty is None else ty
  return tf.reshape(tf.stack([a, b, tx, c, d, ty], axis=-1), [-1, 2, 3])


def _rotation(theta):
  return tf.cos(theta), -tf.sin(theta), tf.sin(theta), tf.cos(theta)


def _scale(x, seed):
  inv = tf.pow(2.0, -0.2 * _per_image(x, seed))  # s = 2^N(0, 0.2^2); zooming by s
  zero = tf.zeros_like(inv)
  return _matrix(inv, zero, zero, inv)


def _rotate(x, seed):
  theta = _per_image(x, seed, tf.random.stateless_uniform, minval=-math.pi, maxval=math.pi)
  return _matrix(*_rotation(-theta))


def _aniso(x, seed):
  s = tf.pow(2.0, 0.2 * _per_image(x, fold(seed, 0)))
  phi = _per_image(x, fold(seed, 1), tf.random.stateless_uniform,
                   minval=-math.pi, maxval=math.pi)
  c, n = tf.cos(phi), tf.sin(phi)
  # R(phi) diag(1/s, s) R(-phi): the inverse of the stretch in that frame.
  a, d = c * c / s + n * n * s, n * n / s + c * c * s
  b = c * n * (1 / s - s)
  return _matrix(a, b, b, d)


def _xfrac(x, seed):
  h, w = x.shape[1], x.shape[2]
  tx = 0.125 * w * _per_image(x, fold(seed, 0))
  ty = 0.125 * h * _per_image(x, fold(seed, 1))
  one = tf.ones_like(tx)
  return _matrix(one, 0 * one, 0 * one, one, -tx, -ty)


# Each op's inverse transform [B, 2, 3] for images x and a seed.
INVERSES = {"scale": _scale, "rotate": _rotate, "aniso": _aniso, "xfrac": _xfrac}
DOCS = {
    "scale": "Zooms each image by s = 2^N(0, 0.2^2) about its centre.",
    "rotate": "Rotates each image by theta ~ U(-pi, pi) about its centre.",
    "aniso": "Stretches each image by s = 2^N(0, 0.2^2) along a random axis, 1/s across it.",
    "xfrac": "Shifts each image by N(0, 0.125^2) of its width and height (fractional).",
}


def _op(name):
  def op(x, seed):
    return resample(x, INVERSES[name](x, seed))
  op.__name__, op.__doc__ = name, DOCS[name]
  return op


OPS = {name: _op(name) for name in INVERSES}
