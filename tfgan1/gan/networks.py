"""The record of what one update rule needs: the two networks, the loss-family
plugin, the penalties and the augmentation, with the calls every objective makes
(D and G with labels, L_G over the top-k fakes, the penalties' D call)."""
import dataclasses
import functools
import math
from typing import Any, List

from tfgan1 import tfimport
from tfgan1.registry import contracts

tf = tfimport.tensorflow()


@dataclasses.dataclass
class PenaltyTerm:
  name: str
  fn: Any
  weight: float
  every: int
  side: str = "d"  # "g": a generator penalty (contract "generator_penalty")


@dataclasses.dataclass
class Networks:
  """The networks and the loss plugins one update rule needs."""
  generator: Any
  discriminator: Any
  family: Any
  penalties: List[PenaltyTerm]
  augment: Any = None  # tfgan1.gan.augment.Augment: fn(images, seed), or None
  # The loss scale (a float16 run): penalties' input gradients use it too.
  input_gradient_scale: Any = None
  g_top_k: float = 1.0  # train.g_top_k: the fraction of fakes L_G reads

  def state(self):
    """{name: tf.Variable} the penalties and augmentation keep between steps
    (LeCam's anchors, ADA's p), for the run's checkpoint."""
    out = {}
    for term in self.penalties:
      out.update(contracts.hook(term.fn, "penalty", "state") or {})
    out.update(getattr(self.augment, "state", None) or {})  # ADA's p; DiffAugment has none
    return out

  def after_step(self, metrics, ok):
    """Lets the penalties and augmentation move their state after a step (`ok`:
    kept); returns the metrics they report (ADA's p)."""
    hooks = [contracts.hook(t.fn, "penalty", "after_step") for t in self.penalties]
    hooks.append(getattr(self.augment, "after_step", None))
    out = {}
    for hook in filter(None, hooks):
      out.update(hook(metrics, ok) or {})
    return out

  def side_penalties(self, side):
    """[(index in `penalties`, term)] of one side: the index folds each term's seed."""
    return [(i, t) for i, t in enumerate(self.penalties) if t.side == side]

  def generator_loss(self, fake_logits, real_logits, fake_labels=None):
    """The family's L_G over the top-k fakes by D score (all when g_top_k is 1).

    Sinha et al. 2020, "Top-k Training of GANs" (arXiv:2002.06224): the fakes D
    scores lowest give G no gradient. The selection reads only the logits' values,
    so the one-step G term's two copies select the same samples and still cancel.
    A family that `reads_labels` gets the fakes' labels too (it refuses top-k).
    """
    if self.g_top_k < 1.0:
      fake_logits = top_k_logits(fake_logits, self.g_top_k)
    if contracts.hook(self.family, "loss", "reads_labels"):
      return self.family.generator_loss(fake_logits, real_logits, fake_labels=fake_labels)
    return self.family.generator_loss(fake_logits, real_logits)

  def discriminator_loss(self, real_logits, fake_logits, real_labels=None, fake_labels=None):
    """The family's L_D; with the batches' labels where it `reads_labels`."""
    if contracts.hook(self.family, "loss", "reads_labels"):
      return self.family.discriminator_loss(real_logits, fake_logits,
                                            real_labels=real_labels, fake_labels=fake_labels)
    return self.family.discriminator_loss(real_logits, fake_logits)

  def d_call(self, x, labels=None):
    logits = self.discriminator(x if labels is None else [x, labels], training=True)
    return tf.cast(logits, tf.float32)

  def penalty_d_call(self, x, labels=None):
    """D for a penalty that differentiates D with respect to its input."""
    if self.input_gradient_scale is None:
      return self.d_call(x, labels)
    return scaled_input_gradients(
        functools.partial(self.d_call, labels=labels), x, self.input_gradient_scale)

  def g_call(self, z):
    """(G's samples, their labels or None) for noise z, or z = (noise, labels)."""
    noise, labels = split_labels(z)
    return self.generator(noise if labels is None else [noise, labels], training=True), labels

  def augment_pair(self, real, fake, seed):
    """DiffAugment: one draw for the real batch and one for the fake batch.

    Every D call of the step then reads these augmented batches (penalties
    too), and `sg(aug(G(z)))` is the stop-gradient copy of the same draw, so
    the one-step G term's two D-gradients still cancel.
    """
    if self.augment is None:
      return real, fake
    return (self.augment(real, tf.random.experimental.stateless_fold_in(seed, _AUG_REAL)),
            self.augment(fake, tf.random.experimental.stateless_fold_in(seed, _AUG_FAKE)))


_AUG_REAL, _AUG_FAKE = 1_000_001, 1_000_002  # apart from the penalties' fold-ins


def top_k_logits(logits, fraction):
  """The ceil(fraction * n) largest of n logits (`[n]` or `[n, 1]`), as `[k]`."""
  flat = tf.reshape(logits, [-1])
  n = flat.shape[0]
  if n is None:  # a TF1 placeholder's unknown batch: k at run time
    k = tf.maximum(1, tf.cast(tf.math.ceil(fraction * tf.cast(tf.size(flat), tf.float32)),
                              tf.int32))
  else:  # static k: XLA's TopK needs it
    k = max(1, math.ceil(fraction * n))
  return tf.math.top_k(flat, k=k).values


def split_labels(batch):
  """A batch is a tensor, or (tensor, int labels) in a class-conditional run."""
  if isinstance(batch, (tuple, list)):
    return batch[0], batch[1]
  return batch, None


def scaled_input_gradients(fn, x, scale):
  """`fn(x)` whose backward pass runs at `scale` times its size, unscaled at `x`.

  A gradient penalty differentiates D with respect to its input. Under a
  float16 policy that backward pass runs in float16, where small gradients
  underflow to zero; scaling it by the loss scale keeps them representable, and
  the input gradient comes back divided in float32 (the forward value is
  unchanged, and both ops are linear, so double backprop sees the same scale).
  """
  s = tf.convert_to_tensor(scale)

  @tf.custom_gradient
  def unscale_at_input(t):
    return tf.identity(t), lambda dy: dy / tf.cast(s, dy.dtype)

  @tf.custom_gradient
  def scale_at_output(t):
    return tf.identity(t), lambda dy: dy * tf.cast(s, dy.dtype)

  return scale_at_output(fn(unscale_at_input(x)))
