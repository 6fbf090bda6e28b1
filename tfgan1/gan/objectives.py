"""The losses each update rule differentiates, built from a loss-family plugin.

`one_step_objective` is the single one-step loss:

    L = L_D(D(x), D(sg(G(z)))) + penalties + lambda * [G term]

classic G term:    L_G(D(G(z)), D(x)) - L_G(D(sg(G(z))), D(x))
stateless G term:  L_G(D_sg(G(z)), sg(D(x)))   with D_sg = D under stop-gradient weights
fused (default):   L_D and L_G read one D(G(z)) whose custom gradient sends L_D's
                   share to D's weights and L_G's share to G (no third D call)
shared:            fused with one backward pass through D(G(z)) for both shares
                   (`tfgan1.gan.discriminator_calls`: D must score each sample on its own)

Both G terms give D a zero gradient and G the gradient of L_G. For relativistic
families L_G also reads D(x): in the classic form both terms read the same D(x),
so D's gradients through it cancel too; the stateless form stops them outright.

Under a mixed-precision policy D's logits are cast to float32 here, so every
loss, penalty, metric and the one-step bracket is computed in float32.
"""
import functools

from tfgan1 import tfimport
from tfgan1.gan import discriminator_calls
from tfgan1.gan.networks import split_labels
from tfgan1.registry import contracts

tf = tfimport.tensorflow()


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
    fake_sg_logits, fake_logits = discriminator_calls.routed_discriminator_call(
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
      fake_logits = discriminator_calls.frozen_discriminator_call(gan.discriminator, fake, fake_y)
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
  if contracts.hook(gan.family, "loss", "generator_needs_real"):
    real_logits = tf.stop_gradient(gan.d_call(real, real_y))
  return gan.generator_loss(fake_logits, real_logits)
