"""Relativistic GAN losses of Jolicoeur-Martineau 2018, "The relativistic
discriminator: a key element missing from standard GAN" (arXiv:1807.00734):
`relativistic` (RSGAN) and `relativistic_average` (RaSGAN, RaHingeGAN).

Written in the style of TF-GAN's `losses_impl.py`: pure functions of the logits,
wrapped by thin registered classes. Every function takes float32 logits of shape
`[batch]` or `[batch, 1]` and returns a float32 scalar, the mean over the batch.
The G losses depend on the real logits too; in the one-step loss both G terms get
the same real logits, so D's gradient through them cancels.
"""
import tensorflow as tf

from tfgan1.plugins.losses import common
from tfgan1.registry import LOSSES

_FORMS = ("hinge", "non_saturating")


@common.flattens_logits
def relativistic_discriminator_loss(real_logits, fake_logits):
  """RSGAN D loss (arXiv:1807.00734, Eq. 9): mean(softplus(-(real - fake))).

  Real and fake samples are paired by batch position, so both need the same
  batch size.

  Args:
    real_logits: float32 `[batch]` or `[batch, 1]`, C(x) on real data.
    fake_logits: float32 `[batch]` or `[batch, 1]`, C(x) on generated data.

  Returns:
    A float32 scalar.
  """
  return tf.reduce_mean(tf.nn.softplus(-(real_logits - fake_logits)))


def relativistic_generator_loss(fake_logits, real_logits):
  """RSGAN G loss (arXiv:1807.00734, Eq. 10): mean(softplus(-(fake - real))).

  Args:
    fake_logits: float32 `[batch]` or `[batch, 1]`, C(x) on generated data.
    real_logits: float32 `[batch]` or `[batch, 1]`, C(x) on real data.

  Returns:
    A float32 scalar.
  """
  return relativistic_discriminator_loss(fake_logits, real_logits)


# The RaGAN functions do not use `common.flattens_logits`: this helper flattens
# each use itself, which keeps float16 logits' gradients rounded as they were.
def _relative_to_average(logits, other_logits):
  """C(x) - mean C(other), both flattened to `[batch]`."""
  other = common.flat_logits(other_logits)
  return common.flat_logits(logits) - tf.reduce_mean(other)


def _ra_loss(winner_logits, loser_logits, form):
  """Loss pushing winner relativistic logits up and loser ones down.

  non_saturating (RaSGAN, Eq. 14):
    mean(softplus(-(W - mean L))) + mean(softplus(L - mean W)).
  hinge (RaHingeGAN, Sec. 4.2):
    mean(relu(1 - (W - mean L))) + mean(relu(1 + (L - mean W))).
  """
  winner = _relative_to_average(winner_logits, loser_logits)
  loser = _relative_to_average(loser_logits, winner_logits)
  if form == "non_saturating":
    return (tf.reduce_mean(tf.nn.softplus(-winner))
            + tf.reduce_mean(tf.nn.softplus(loser)))
  if form == "hinge":
    return (tf.reduce_mean(tf.nn.relu(1.0 - winner))
            + tf.reduce_mean(tf.nn.relu(1.0 + loser)))
  raise ValueError(f"form must be one of {_FORMS}, got {form!r}")


def relativistic_average_discriminator_loss(real_logits, fake_logits,
                                            form="non_saturating"):
  """RaGAN D loss (arXiv:1807.00734, Eq. 14 and Sec. 4.2).

  With C_r = real - mean(fake) and C_f = fake - mean(real):
  non_saturating: mean(softplus(-C_r)) + mean(softplus(C_f));
  hinge: mean(relu(1 - C_r)) + mean(relu(1 + C_f)).

  Args:
    real_logits: float32 `[batch]` or `[batch, 1]`, C(x) on real data.
    fake_logits: float32 `[batch]` or `[batch, 1]`, C(x) on generated data.
    form: "non_saturating" (RaSGAN) or "hinge" (RaHingeGAN).

  Returns:
    A float32 scalar.
  """
  return _ra_loss(real_logits, fake_logits, form)


def relativistic_average_generator_loss(fake_logits, real_logits,
                                        form="non_saturating"):
  """RaGAN G loss: the D loss with real and fake swapped (arXiv:1807.00734).

  Takes the arguments of `relativistic_average_discriminator_loss`, fake logits
  first, and returns a float32 scalar: with C_f and C_r as there,
  mean(softplus(-C_f)) + mean(softplus(C_r)) (non_saturating) or
  mean(relu(1 - C_f)) + mean(relu(1 + C_r)) (hinge).
  """
  return _ra_loss(fake_logits, real_logits, form)


@LOSSES.register("relativistic")
class Relativistic:
  """Relativistic standard GAN, RSGAN (Jolicoeur-Martineau 2018)."""

  generator_needs_real = True  # L_G reads D(x): the alternating rule computes it

  def discriminator_loss(self, real_logits, fake_logits):
    return relativistic_discriminator_loss(real_logits, fake_logits)

  def generator_loss(self, fake_logits, real_logits):
    return relativistic_generator_loss(fake_logits, real_logits)


@LOSSES.register("relativistic_average")
class RelativisticAverage:
  """Relativistic average GAN (Jolicoeur-Martineau 2018); `form` picks
  RaSGAN ("non_saturating", the default) or RaHingeGAN ("hinge")."""

  generator_needs_real = True

  def __init__(self, form="non_saturating"):
    self.form = common.check_choice("loss.form", form, _FORMS)

  def discriminator_loss(self, real_logits, fake_logits):
    return relativistic_average_discriminator_loss(real_logits, fake_logits,
                                                   form=self.form)

  def generator_loss(self, fake_logits, real_logits):
    return relativistic_average_generator_loss(fake_logits, real_logits,
                                               form=self.form)
