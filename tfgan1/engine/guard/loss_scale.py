"""One dynamic loss scale per train step, in the style of flax's `DynamicScale`.

A float16 run multiplies every loss by `scale` before differentiating and
divides the gradients back, so small gradients stay representable. A step the
finite check refuses halves the scale; `growth_interval` good steps in a row
double it. Why one scale for the whole step, not Keras' `LossScaleOptimizer`:
see `tfgan1.engine.guard`.
"""
from tfgan1 import tfimport

tf = tfimport.tensorflow()

_MAX_SCALE = 2.0 ** 32  # doubling forever would reach inf, which never recovers


class DynamicScale:
  """The scale and its good-step counter; `dynamic=False` scales nothing.

  The variables exist either way: they are part of every run's checkpoint.
  """

  def __init__(self, settings=None):
    self.dynamic = settings is not None
    settings = settings or {}
    self.growth_interval = int(settings.get("growth_interval", 2000))
    self.scale = tf.Variable(float(settings.get("initial_scale", 1.0)), dtype=tf.float32,
                             trainable=False, name="loss_scale")
    self.good_steps = tf.Variable(0, dtype=tf.int64, trainable=False, name="good_steps")

  def scale_loss(self, loss):
    return loss * self.scale if self.dynamic else loss

  def unscale(self, grads):
    if not self.dynamic:
      return grads
    inverse = 1.0 / self.scale  # exact for power-of-two scales (the default ones)
    return [g * tf.cast(inverse, g.dtype) for g in grads]

  def adjust(self, ok):
    """After a step: halve on a refused step, double after enough good ones."""
    if not self.dynamic:
      return
    good = tf.where(ok, self.good_steps + 1, tf.zeros_like(self.good_steps))
    grow = good >= self.growth_interval
    scale = tf.where(ok, tf.where(grow, tf.minimum(self.scale * 2.0, _MAX_SCALE), self.scale),
                     tf.maximum(self.scale * 0.5, 1.0))
    self.scale.assign(scale)
    self.good_steps.assign(tf.where(grow, tf.zeros_like(good), good))

  def exhausted(self):
    """True when a refused step cannot be blamed on the scale (it is at 1)."""
    return self.scale <= 1.0
