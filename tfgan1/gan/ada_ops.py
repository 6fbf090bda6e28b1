"""ADA's augmentations (Karras, Aittala, Hellsten, Laine, Lehtinen, Aila,
"Training Generative Adversarial Networks with Limited Data", NeurIPS 2020,
arXiv:2006.06676, Appendix B), stateless, for images in [-1, 1] (NHWC).

Parameters are the reference's defaults (NVlabs/stylegan2-ada-pytorch,
training/augment.py, AugmentPipe: brightness_std 0.2, contrast_std 0.5,
hue_max 1, saturation_std 1, noise_std 0.1); integer translation and cutout are
DiffAugment's ops (tfgan1.gan.augment), whose 0.125 and 0.5 ratios are ADA's
xint_max and cutout_size. Colour ops act about 0 (mid-grey), as the
reference's colour matrix does; lumaflip, hue and saturation act on the luma
axis v = (1, 1, 1) / sqrt(3) of 3-channel images. On 1-channel images the
reference applies the mean of its matrix's rows: lumaflip negates the image,
hue and saturation leave it unchanged (so they do here).
Each op's own coin (flip or not, which quarter turn) is drawn here; whether an
image gets the op at all (probability p) is the caller's.
"""
import math

from tfgan1 import tfimport

tf = tfimport.tensorflow()


def fold(seed, i):
  """The i-th seed derived from `seed` (each op and draw gets its own)."""
  return tf.random.experimental.stateless_fold_in(seed, i)


def _per_image(x, seed, draw=tf.random.stateless_normal):
  return draw([tf.shape(x)[0], 1, 1, 1], seed, dtype=x.dtype)


def _coin(x, seed, sides=2):
  return tf.random.stateless_uniform([tf.shape(x)[0], 1, 1, 1], seed, 0, sides, dtype=tf.int32)


def xflip(x, seed):
  """Mirrors half of the images left-right."""
  return tf.where(_coin(x, seed) == 1, tf.reverse(x, [2]), x)


def rotate90(x, seed):
  """Turns each image by 0, 1, 2 or 3 quarter turns (square images)."""
  k = _coin(x, seed, 4)
  out = x
  for turns in (1, 2, 3):
    out = tf.where(k == turns, tf.image.rot90(x, turns), out)
  return out


def brightness(x, seed):
  """Adds b ~ N(0, 0.2^2) to every pixel of an image."""
  return x + 0.2 * _per_image(x, seed)


def contrast(x, seed):
  """Scales an image about 0 by c = 2^(N(0, 0.5^2)) (log-normal)."""
  return x * tf.pow(2.0, 0.5 * _per_image(x, seed))


def _luma(x):
  """v (v . x) per pixel, v = (1, 1, 1) / sqrt(3): the grey part of an RGB pixel."""
  return tf.reduce_mean(x, axis=3, keepdims=True) * tf.ones_like(x)


def lumaflip(x, seed):
  """Reflects half of the RGB images' pixels through the plane normal to v;
  a 1-channel image is negated, as the reference's colour matrix does to it
  (it applies the mean of the matrix's rows)."""
  if x.shape[-1] not in (1, 3):
    return x
  flipped = -x if x.shape[-1] == 1 else x - 2.0 * _luma(x)
  return tf.where(_coin(x, seed) == 1, flipped, x)


def hue(x, seed):
  """Rotates RGB pixels about v by theta ~ U(-pi, pi) (Rodrigues' formula)."""
  if x.shape[-1] != 3:
    return x
  theta = math.pi * _per_image(x, seed, lambda s, sd, dtype: tf.random.stateless_uniform(
      s, sd, -1.0, 1.0, dtype=dtype))
  v = tf.constant([1.0, 1.0, 1.0], x.dtype) / math.sqrt(3.0)
  cross = tf.linalg.cross(tf.broadcast_to(v, tf.shape(x)), x)
  return tf.cos(theta) * x + tf.sin(theta) * cross + (1.0 - tf.cos(theta)) * _luma(x)


def saturation(x, seed):
  """Scales RGB pixels' distance from the grey axis by s = 2^(N(0, 1))."""
  if x.shape[-1] != 3:
    return x
  grey = _luma(x)
  return grey + (x - grey) * tf.pow(2.0, _per_image(x, seed))


def noise(x, seed):
  """Adds N(0, sigma^2) per pixel, sigma = |N(0, 0.1^2)| per image."""
  sigma = tf.abs(0.1 * _per_image(x, fold(seed, 0)))
  return x + sigma * tf.random.stateless_normal(tf.shape(x), fold(seed, 1), dtype=x.dtype)


OPS = {"xflip": xflip, "rotate90": rotate90, "brightness": brightness,
       "contrast": contrast, "lumaflip": lumaflip, "hue": hue, "saturation": saturation,
       "noise": noise}
