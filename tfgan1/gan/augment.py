"""DiffAugment (Zhao et al. 2020): differentiable augmentation before every D call.

    augment: {policy: "color,translation,cutout", p: 1.0}

Real and fake images pass through the same kind of random transforms before D
sees them, and gradients flow through the transforms to G. Every draw here is
stateless: `Augment(x, seed)` is a fixed function of the seed, which the engine
derives from the step's seed (one seed for the real batch, one for the fake
batch). So every D call of one step on the same images sees the same draw, and
the one-step G term's two D-gradients still cancel (`--verify` checks it).

The ops follow the reference TF implementation (mit-han-lab/data-efficient-gans,
DiffAugment_tf.py) for images in [-1, 1], rewritten with stateless random ops.
"""
from tfgan1 import tfimport
from tfgan1.config.sections import AUGMENT_OPS
from tfgan1.errors import UserError

tf = tfimport.tensorflow()
_stateless_uniform = tf.random.stateless_uniform


def _fold(seed, i):
  return tf.random.experimental.stateless_fold_in(seed, i)


def color(x, seed):
  """Random brightness (+-0.5), saturation (x0..2) and contrast (x0.5..1.5) per image."""
  shape = [tf.shape(x)[0], 1, 1, 1]
  x = x + (_stateless_uniform(shape, _fold(seed, 0), dtype=x.dtype) - 0.5)
  mean = tf.reduce_mean(x, axis=3, keepdims=True)
  x = (x - mean) * (_stateless_uniform(shape, _fold(seed, 1), dtype=x.dtype) * 2) + mean
  mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
  return (x - mean) * (_stateless_uniform(shape, _fold(seed, 2), dtype=x.dtype) + 0.5) + mean


def _shift(x, offsets, axis):
  """Shifts each image by its own integer offset along `axis`, zero-filling."""
  size = x.shape[axis]
  pad = [[0, 0]] * 4
  pad[axis] = [1, 1]
  index = tf.clip_by_value(tf.range(size)[None, :] + offsets + 1, 0, size + 1)
  return tf.gather(tf.pad(x, pad), index, axis=axis, batch_dims=1)


def translation(x, seed, ratio=0.125):
  """Shifts each image by up to `ratio` of its height and width, zero-filling."""
  batch = tf.shape(x)[0]
  for axis in (1, 2):
    limit = int(x.shape[axis] * ratio + 0.5)
    offsets = _stateless_uniform([batch, 1], _fold(seed, axis), -limit, limit + 1,
                                 dtype=tf.int32)
    x = _shift(x, offsets, axis)
  return x


def cutout(x, seed, ratio=0.5):
  """Zeroes one square of `ratio` of each image's size at a random centre."""
  batch = tf.shape(x)[0]
  inside = []
  for axis in (1, 2):
    size = x.shape[axis]
    cut = int(size * ratio + 0.5)
    centre = _stateless_uniform([batch, 1, 1], _fold(seed, axis), 0, size + (1 - cut % 2),
                                dtype=tf.int32)
    pos = tf.reshape(tf.range(size), [1, -1, 1] if axis == 1 else [1, 1, -1])
    start = centre - cut // 2
    inside.append((pos >= start) & (pos < start + cut))
  mask = 1.0 - tf.cast(inside[0] & inside[1], x.dtype)
  return x * mask[..., None]


OPS = {"color": color, "translation": translation, "cutout": cutout}
assert tuple(OPS) == AUGMENT_OPS  # the config checks names against AUGMENT_OPS


class Augment:
  """The policy's ops in order; each image gets each op with probability `p`."""

  def __init__(self, policy, p):
    self.ops = [OPS[name] for name in policy.split(",")]
    self.p = p

  def __call__(self, x, seed):
    for i, op in enumerate(self.ops):
      op_seed = _fold(seed, i)
      y = op(x, op_seed)
      if self.p < 1.0:
        keep = _stateless_uniform([tf.shape(x)[0], 1, 1, 1], _fold(op_seed, 7)) < self.p
        y = tf.where(keep, y, x)
      x = y
    return x


def make(config, spec):
  """The run's Augment, or None; only image data ([H, W, C]) can be augmented."""
  if config.augment is None:
    return None
  if len(spec.shape) != 3:
    raise UserError(f"augment: DiffAugment needs image data of shape [H, W, C]; data "
                    f"{config.data.name!r} has samples of shape {tuple(spec.shape)}")
  return Augment(config.augment.policy, config.augment.p)
