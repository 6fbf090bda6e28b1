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
from tfgan1.gan import augment as augment_lib
from tfgan1.gan import discriminator_calls
from tfgan1.gan.networks import split_labels
from tfgan1.registry import contracts

tf = tfimport.tensorflow()


def _weighted(terms, compute, seed, step):
  """(sum of weight x every x value, {penalty/<name>: value}) over `terms`.

  `terms`: [(index, PenaltyTerm)]; `compute(term, seed)` gives its value, with
  the step's seed folded by the term's index, so each term draws its own. A
  penalty declaring `reports` returns (value, {name: scalar}) instead; those
  scalars join the metrics as penalty/<term>/<name> (0 on a lazy step it skips).
  """
  total = tf.constant(0.0, tf.float32)
  parts = {}
  for i, term in terms:
    term_seed = tf.random.experimental.stateless_fold_in(seed, i)
    reports = tuple(contracts.hook(term.fn, "penalty", "reports"))
    def value_fn(t=term, s=term_seed, reports=reports):
      out = compute(t, s)
      value, extra = out if reports else (out, {})
      return tf.cast(value, tf.float32), {k: tf.cast(extra[k], tf.float32) for k in reports}
    if term.every == 1:
      value, extra = value_fn()
    else:  # lazy regularisation (StyleGAN2): every k steps, weight scaled by k
      # tf.equal, not ==: in a TF1 graph `==` on tensors is object identity.
      value, extra = tf.cond(tf.equal(step % term.every, 0), value_fn,
                             lambda r=reports: (tf.constant(0.0), {k: tf.constant(0.0)
                                                                   for k in r}))
    parts[f"penalty/{term.name}"] = value
    parts.update({f"penalty/{term.name}/{k}": v for k, v in extra.items()})
    total += term.weight * term.every * value
  return total, parts


def penalty_terms(gan, real, fake_sg, seed, step, labels=None, z=None):
  """Sum of weighted D penalties (only D moves: `fake_sg` is stop-gradient).

  A conditional D reads the real batch's `labels` for every penalty input.
  Penalties that declare `reads_noise` get the step's noise `z` too, and D's
  scores of stop-gradient G(noise) (zCR).
  """
  d_call = functools.partial(gan.penalty_d_call, labels=labels)

  def compute(term, term_seed):
    if not contracts.hook(term.fn, "penalty", "reads_noise"):
      return term.fn(d_call, real, fake_sg, term_seed)
    noise, fake_y = split_labels(z)
    def fake_scores(other):
      fake, _ = gan.g_call(other if fake_y is None else (other, fake_y))
      return gan.d_call(tf.stop_gradient(fake), fake_y)
    return term.fn(d_call, real, fake_sg, term_seed, noise=noise, fake_scores=fake_scores)
  return _weighted(gan.side_penalties("d"), compute, seed, step)


def generator_penalty_terms(gan, z, seed, step):
  """Sum of weighted G penalties (side "g"), which join L_G.

  Each reads G and the step's noise only, so D's gradient never sees them and
  in the one-step loss they enter lambda's term like L_G: G gets lambda x their
  gradient, D nothing (`--verify` checks both). Seeds fold by the term's index
  in `gan.penalties`, apart from every D penalty's.
  """
  return _weighted(gan.side_penalties("g"), lambda t, s: t.fn(gan.generator, z, s),
                   seed, step)


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
  loss_d = gan.discriminator_loss(real_logits, fake_sg_logits, real_y, fake_y)
  penalty, metrics = penalty_terms(gan, real, fake_sg, seed, step, real_y, z)
  g_penalty, g_parts = generator_penalty_terms(gan, z, seed, step)
  if form == "classic":
    loss_g = gan.generator_loss(gan.d_call(fake, fake_y), real_logits, fake_y)
    g_term = loss_g - gan.generator_loss(fake_sg_logits, real_logits, fake_y)
  else:
    if form == "stateless":
      fake_logits = discriminator_calls.frozen_discriminator_call(gan.discriminator, fake, fake_y)
    loss_g = gan.generator_loss(fake_logits, tf.stop_gradient(real_logits), fake_y)
    g_term = loss_g
  total = loss_d + penalty + lam * (g_term + g_penalty)
  metrics.update(g_parts, loss_d=loss_d, loss_g=loss_g, d_real=_mean(real_logits),
                 d_fake=_mean(fake_sg_logits))
  metrics.update(augment_lib.real_sign_metrics(gan.augment, real_logits))
  return total, metrics


def discriminator_objective(gan, real, z, seed, step):
  """L_D + penalties for a D update (G's output is stop-gradient)."""
  real, real_y = split_labels(real)
  fake, fake_y = gan.g_call(z)
  real, fake_sg = gan.augment_pair(real, tf.stop_gradient(fake), seed)
  real_logits = gan.d_call(real, real_y)
  fake_logits = gan.d_call(fake_sg, fake_y)
  loss_d = gan.discriminator_loss(real_logits, fake_logits, real_y, fake_y)
  penalty, metrics = penalty_terms(gan, real, fake_sg, seed, step, real_y, z)
  metrics.update(loss_d=loss_d, d_real=_mean(real_logits), d_fake=_mean(fake_logits))
  metrics.update(augment_lib.real_sign_metrics(gan.augment, real_logits))
  return loss_d + penalty, metrics


def both_objectives(gan, real, z, seed, step):
  """(L_D + penalties, L_G, metrics) from one forward pass: the simultaneous rule."""
  real, real_y = split_labels(real)
  fake, fake_y = gan.g_call(z)
  real, fake = gan.augment_pair(real, fake, seed)
  real_logits = gan.d_call(real, real_y)
  fake_logits = gan.d_call(fake, fake_y)
  loss_d = gan.discriminator_loss(real_logits, fake_logits, real_y, fake_y)
  penalty, metrics = penalty_terms(gan, real, tf.stop_gradient(fake), seed, step, real_y,
                                   z)
  g_penalty, g_parts = generator_penalty_terms(gan, z, seed, step)
  loss_g = gan.generator_loss(fake_logits, real_logits, fake_y)
  metrics.update(g_parts, loss_d=loss_d, loss_g=loss_g, d_real=_mean(real_logits),
                 d_fake=_mean(fake_logits))
  metrics.update(augment_lib.real_sign_metrics(gan.augment, real_logits))
  return loss_d + penalty, loss_g + g_penalty, metrics


def generator_objective(gan, real, z, seed=None, step=0):
  """L_G (+ the G penalties at `step`) for a G update (`generator_objective_parts`'s loss)."""
  return generator_objective_parts(gan, real, z, seed, step)[0]


def generator_objective_parts(gan, real, z, seed=None, step=0):
  """(L_G + the G penalties at `step`, the G penalties' metrics) for a G update.

  D(x) is computed only for families whose G loss reads it (relativistic ones
  set `generator_needs_real = True`); the others get `real_logits=None`. `seed`
  draws the augmentation, when the run augments, and the G penalties' draws.
  """
  real, real_y = split_labels(real)
  fake, fake_y = gan.g_call(z)
  real, fake = gan.augment_pair(real, fake, seed)
  fake_logits = gan.d_call(fake, fake_y)
  real_logits = None
  if contracts.hook(gan.family, "loss", "generator_needs_real"):
    real_logits = tf.stop_gradient(gan.d_call(real, real_y))
  loss_g = gan.generator_loss(fake_logits, real_logits, fake_y)
  if not gan.side_penalties("g"):
    return loss_g, {}
  g_penalty, parts = generator_penalty_terms(
      gan, z, tf.zeros([2], tf.int32) if seed is None else seed, step)
  return loss_g + g_penalty, parts
