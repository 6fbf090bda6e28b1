"""DiffAugment (Zhao et al. 2020): differentiable augmentation before every D call;
ADA (Karras et al. 2020) when `adaptive`: p follows D's overfitting.

    augment: {policy: "color,translation,cutout", p: 1.0}
    augment: {policy: ada, p: 0.0, adaptive: true}   # ADA's ops: tfgan1.gan.ada_ops

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
from tfgan1.gan import ada_filter, ada_geometry, ada_ops
from tfgan1.gan.ada_ops import fold

tf = tfimport.tensorflow()
_stateless_uniform = tf.random.stateless_uniform


def color(x, seed):
  """Random brightness (+-0.5), saturation (x0..2) and contrast (x0.5..1.5) per image."""
  shape = [tf.shape(x)[0], 1, 1, 1]
  x = x + (_stateless_uniform(shape, fold(seed, 0), dtype=x.dtype) - 0.5)
  mean = tf.reduce_mean(x, axis=3, keepdims=True)
  x = (x - mean) * (_stateless_uniform(shape, fold(seed, 1), dtype=x.dtype) * 2) + mean
  mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
  return (x - mean) * (_stateless_uniform(shape, fold(seed, 2), dtype=x.dtype) + 0.5) + mean


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
    offsets = _stateless_uniform([batch, 1], fold(seed, axis), -limit, limit + 1,
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
    centre = _stateless_uniform([batch, 1, 1], fold(seed, axis), 0, size + (1 - cut % 2),
                                dtype=tf.int32)
    pos = tf.reshape(tf.range(size), [1, -1, 1] if axis == 1 else [1, 1, -1])
    start = centre - cut // 2
    inside.append((pos >= start) & (pos < start + cut))
  mask = 1.0 - tf.cast(inside[0] & inside[1], x.dtype)
  return x * mask[..., None]


OPS = {"color": color, "translation": translation, "cutout": cutout, **ada_ops.OPS,
       **ada_geometry.OPS, **ada_filter.OPS}
assert tuple(OPS) == AUGMENT_OPS  # the config checks names against AUGMENT_OPS


class Augment:
  """The policy's ops in order; each image gets each op with probability `p`
  (an op with `own_probability` gets p and draws its own coins)."""

  def __init__(self, policy, p):
    self.ops = [OPS[name] for name in policy.split(",")]
    self.p = p

  def probability(self):
    return self.p

  def __call__(self, x, seed):
    p = self.probability()
    for i, op in enumerate(self.ops):
      op_seed = fold(seed, i)
      if getattr(op, "own_probability", False):  # draws its coins itself (imgfilter)
        x = op(x, op_seed, p)
        continue
      y = op(x, op_seed)
      if not isinstance(p, float) or p < 1.0:
        keep = _stateless_uniform([tf.shape(x)[0], 1, 1, 1], fold(op_seed, 7)) < p
        y = tf.where(keep, y, x)
      x = y
    return x


class AdaptiveAugment(Augment):
  """ADA (Karras et al. 2020, Sec. 3): p moves every `interval` steps by
  sign(r_t - target) x batch x interval / (kimg x 1000), r_t = E[sign(D(x))] on
  the augmented reals over those steps (the reference's `ada_target` 0.6,
  `ada_interval` 4, `ada_kimg` 500), clipped to [0, 1] (the reference clips at
  0 only). p is read from a variable as the step begins and written only after
  it (`after_step`), so every D call of a step sees one p and one draw."""

  def __init__(self, policy, p, batch_size, target, kimg, interval):
    super().__init__(policy, p)
    self.target, self.interval = target, interval
    self.speed = batch_size * interval / (kimg * 1000.0)
    # MEAN: each replica's identical write is averaged under a strategy.
    mean = tf.VariableAggregation.MEAN
    self.state = {name: tf.Variable(value, trainable=False, name=name, aggregation=mean)
                  for name, value in (("ada_p", float(p)), ("ada_sign_sum", 0.0),
                                      ("ada_sign_steps", 0.0))}

  def probability(self):
    return tf.convert_to_tensor(self.state["ada_p"])

  def after_step(self, metrics, ok):
    """Counts the step's E[sign(D(x))]; adjusts p at the end of an interval."""
    s = self.state
    ok = tf.cast(ok, tf.float32)
    s["ada_sign_sum"].assign_add(ok * tf.where(ok > 0, metrics["ada_real_sign"], 0.0))
    s["ada_sign_steps"].assign_add(ok)
    due = s["ada_sign_steps"] >= self.interval
    r_t = s["ada_sign_sum"] / tf.maximum(s["ada_sign_steps"], 1.0)
    step = tf.sign(r_t - self.target) * self.speed
    s["ada_p"].assign(tf.where(due, tf.clip_by_value(s["ada_p"] + step, 0.0, 1.0), s["ada_p"]))
    for name in ("ada_sign_sum", "ada_sign_steps"):
      s[name].assign(tf.where(due, 0.0, s[name]))
    return {"augment_p": tf.convert_to_tensor(s["ada_p"])}


def real_sign_metrics(augment, real_logits):
  """{ada_real_sign: mean sign(D(x))} for ADA's `after_step`, or {} without ADA."""
  if not isinstance(augment, AdaptiveAugment):
    return {}
  return {"ada_real_sign": tf.reduce_mean(tf.sign(tf.cast(real_logits, tf.float32)))}


def make(config, spec):
  """The run's Augment, or None; only image data ([H, W, C]) can be augmented."""
  cfg = config.augment
  if cfg is None:
    return None
  if len(spec.shape) != 3:
    raise UserError(f"augment: DiffAugment needs image data of shape [H, W, C]; data "
                    f"{config.data.name!r} has samples of shape {tuple(spec.shape)}")
  if "rotate90" in cfg.policy.split(",") and spec.shape[0] != spec.shape[1]:
    raise UserError(f"augment.policy: 'rotate90' needs square images; data "
                    f"{config.data.name!r} has {spec.shape[0]} x {spec.shape[1]}")
  if not cfg.adaptive:
    return Augment(cfg.policy, cfg.p)
  return AdaptiveAugment(cfg.policy, cfg.p, config.train.batch_size, cfg.target,
                         cfg.kimg, cfg.interval)
