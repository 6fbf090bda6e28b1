"""The losses each update rule differentiates, built from a loss-family plugin.

`one_step_objective` is the single loss of DEVELOPERS.md:

    L = L_D(D(x), D(sg(G(z)))) + penalties + lambda * [G term]

classic G term:    L_G(D(G(z)), D(x)) - L_G(D(sg(G(z))), D(x))
stateless G term:  L_G(D_sg(G(z)), sg(D(x)))   with D_sg = D under stop-gradient weights
fused (default):   L_D and L_G read one D(G(z)) whose custom gradient sends L_D's
                   share to D's weights and L_G's share to G (no third D call)
shared:            fused with one backward pass through D(G(z)) for both shares
                   (`tfgan1/routing.py`: D must score each sample on its own)

Both G terms give D a zero gradient and G the gradient of L_G. For relativistic
families L_G also reads D(x): in the classic form both terms read the same D(x),
so D's gradients through it cancel too; the stateless form stops them outright.

Under a mixed-precision policy D's logits are cast to float32 here, so every
loss, penalty, metric and the one-step bracket is computed in float32.
"""
import dataclasses
import functools
import math
from typing import Any, List

from tfgan1 import loss_scale
from tfgan1 import routing
from tfgan1 import tfimport

tf = tfimport.tensorflow()


@dataclasses.dataclass
class PenaltyTerm:
  name: str
  fn: Any
  weight: float
  every: int


@dataclasses.dataclass
class GAN:
  """The networks and the loss plugins one update rule needs."""
  generator: Any
  discriminator: Any
  family: Any
  penalties: List[PenaltyTerm]
  augment: Any = None  # tfgan1.augment.Augment: fn(images, seed), or None
  # The loss scale (a float16 run): penalties' input gradients use it too.
  input_gradient_scale: Any = None
  g_top_k: float = 1.0  # train.g_top_k: the fraction of fakes L_G reads

  def generator_loss(self, fake_logits, real_logits):
    """The family's L_G over the top-k fakes by D score (all when g_top_k is 1).

    Sinha et al. 2020, "Top-k Training of GANs" (arXiv:2002.06224): the fakes D
    scores lowest give G no gradient. The selection reads only the logits' values,
    so the one-step G term's two copies select the same samples and still cancel.
    """
    if self.g_top_k < 1.0:
      fake_logits = top_k_logits(fake_logits, self.g_top_k)
    return self.family.generator_loss(fake_logits, real_logits)

  def d_call(self, x, labels=None):
    logits = self.discriminator(x if labels is None else [x, labels], training=True)
    return tf.cast(logits, tf.float32)

  def penalty_d_call(self, x, labels=None):
    """D for a penalty that differentiates D with respect to its input."""
    if self.input_gradient_scale is None:
      return self.d_call(x, labels)
    return loss_scale.scaled_input_gradients(
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


def penalty_terms(gan, real, fake_sg, seed, step, labels=None):
  """Sum of weighted penalties (only D moves: `fake_sg` is stop-gradient).

  A conditional D reads the real batch's `labels` for every penalty input.
  """
  d_call = functools.partial(gan.penalty_d_call, labels=labels)
  total = tf.constant(0.0, tf.float32)
  parts = {}
  for i, term in enumerate(gan.penalties):
    term_seed = tf.random.experimental.stateless_fold_in(seed, i)
    compute = lambda t=term, s=term_seed: tf.cast(
        t.fn(d_call, real, fake_sg, s), tf.float32)
    if term.every == 1:
      value = compute()
    else:  # lazy regularisation (StyleGAN2): every k steps, weight scaled by k
      # tf.equal, not ==: in a TF1 graph `==` on tensors is object identity.
      value = tf.cond(tf.equal(step % term.every, 0), compute, lambda: tf.constant(0.0))
    parts[f"penalty/{term.name}"] = value
    total += term.weight * term.every * value
  return total, parts


def _mean(logits):
  return tf.reduce_mean(tf.cast(logits, tf.float32))


def one_step_objective(gan, real, z, seed, step, lam, form):
  """Returns (the one loss to differentiate, a dict of scalar metrics)."""
  real, real_y = split_labels(real)
  fake, fake_y = gan.g_call(z)
  real, fake = gan.augment_pair(real, fake, seed)
  fake_sg = tf.stop_gradient(fake)
  real_logits = gan.d_call(real, real_y)
  if form in ("fused", "shared"):  # one D forward on the fake batch serves L_D and L_G
    fake_sg_logits, fake_logits = routing.routed_discriminator_call(
        gan, fake, fake_y, shared=form == "shared")
  else:
    fake_sg_logits = gan.d_call(fake_sg, fake_y)
  loss_d = gan.family.discriminator_loss(real_logits, fake_sg_logits)
  penalty, metrics = penalty_terms(gan, real, fake_sg, seed, step, real_y)
  if form == "classic":
    loss_g = gan.generator_loss(gan.d_call(fake, fake_y), real_logits)
    g_term = loss_g - gan.generator_loss(fake_sg_logits, real_logits)
  else:
    if form == "stateless":
      fake_logits = routing.frozen_discriminator_call(gan.discriminator, fake, fake_y)
    loss_g = gan.generator_loss(fake_logits, tf.stop_gradient(real_logits))
    g_term = loss_g
  total = loss_d + penalty + lam * g_term
  metrics.update(loss_d=loss_d, loss_g=loss_g, d_real=_mean(real_logits),
                 d_fake=_mean(fake_sg_logits))
  return total, metrics


def discriminator_objective(gan, real, z, seed, step):
  """L_D + penalties for a D update (G's output is stop-gradient)."""
  real, real_y = split_labels(real)
  fake, fake_y = gan.g_call(z)
  real, fake_sg = gan.augment_pair(real, tf.stop_gradient(fake), seed)
  real_logits = gan.d_call(real, real_y)
  fake_logits = gan.d_call(fake_sg, fake_y)
  loss_d = gan.family.discriminator_loss(real_logits, fake_logits)
  penalty, metrics = penalty_terms(gan, real, fake_sg, seed, step, real_y)
  metrics.update(loss_d=loss_d, d_real=_mean(real_logits), d_fake=_mean(fake_logits))
  return loss_d + penalty, metrics


def both_objectives(gan, real, z, seed, step):
  """(L_D + penalties, L_G, metrics) from one forward pass: the simultaneous rule."""
  real, real_y = split_labels(real)
  fake, fake_y = gan.g_call(z)
  real, fake = gan.augment_pair(real, fake, seed)
  real_logits = gan.d_call(real, real_y)
  fake_logits = gan.d_call(fake, fake_y)
  loss_d = gan.family.discriminator_loss(real_logits, fake_logits)
  penalty, metrics = penalty_terms(gan, real, tf.stop_gradient(fake), seed, step, real_y)
  loss_g = gan.generator_loss(fake_logits, real_logits)
  metrics.update(loss_d=loss_d, loss_g=loss_g, d_real=_mean(real_logits),
                 d_fake=_mean(fake_logits))
  return loss_d + penalty, loss_g, metrics


def generator_objective(gan, real, z, seed=None):
  """L_G for a G update.

  D(x) is computed only for families whose G loss reads it (relativistic ones
  set `generator_needs_real = True`); the others get `real_logits=None`. `seed`
  draws the augmentation, when the run augments.
  """
  real, real_y = split_labels(real)
  fake, fake_y = gan.g_call(z)
  real, fake = gan.augment_pair(real, fake, seed)
  fake_logits = gan.d_call(fake, fake_y)
  real_logits = None
  if getattr(gan.family, "generator_needs_real", False):
    real_logits = tf.stop_gradient(gan.d_call(real, real_y))
  return gan.generator_loss(fake_logits, real_logits)
