"""Losses on the raw critic output: `hinge` and `wasserstein`.

Written in the style of TF-GAN's `losses_impl.py`: pure functions of the logits,
wrapped by thin registered classes. Every function takes float32 logits of shape
`[batch]` or `[batch, 1]` and returns a float32 scalar, the mean over the batch.
"""
import tensorflow as tf

from tfgan1.plugins.losses import common
from tfgan1.registry import LOSSES


@common.flattens_logits
def hinge_discriminator_loss(real_logits, fake_logits):
  """Hinge D loss of Lim & Ye 2017, "Geometric GAN" (arXiv:1705.02894).

  Also used by Miyato et al. 2018, "Spectral Normalization for GANs"
  (arXiv:1802.05957): mean(relu(1 - real_logits)) + mean(relu(1 + fake_logits)).

  Args:
    real_logits: float32 `[batch]` or `[batch, 1]`, D's logits on real data.
    fake_logits: float32 `[batch]` or `[batch, 1]`, D's logits on generated data.

  Returns:
    A float32 scalar.
  """
  return (tf.reduce_mean(tf.nn.relu(1.0 - real_logits))
          + tf.reduce_mean(tf.nn.relu(1.0 + fake_logits)))


@common.flattens_logits
def hinge_generator_loss(fake_logits):
  """Hinge G loss (Lim & Ye 2017, arXiv:1705.02894): -mean(fake_logits).

  Args:
    fake_logits: float32 `[batch]` or `[batch, 1]`, D's logits on generated data.

  Returns:
    A float32 scalar.
  """
  return -tf.reduce_mean(fake_logits)


@common.flattens_logits
def wasserstein_discriminator_loss(real_logits, fake_logits):
  """Critic loss of Arjovsky et al. 2017, "Wasserstein GAN" (arXiv:1701.07875).

  The critic maximises mean(real) - mean(fake), so it minimises
  mean(fake_logits) - mean(real_logits).

  Args:
    real_logits: float32 `[batch]` or `[batch, 1]`, critic outputs on real data.
    fake_logits: float32 `[batch]` or `[batch, 1]`, critic outputs on generated data.

  Returns:
    A float32 scalar.
  """
  return tf.reduce_mean(fake_logits) - tf.reduce_mean(real_logits)


@common.flattens_logits
def wasserstein_generator_loss(fake_logits):
  """G loss of Arjovsky et al. 2017 (arXiv:1701.07875): -mean(fake_logits).

  Args:
    fake_logits: float32 `[batch]` or `[batch, 1]`, critic outputs on generated data.

  Returns:
    A float32 scalar.
  """
  return -tf.reduce_mean(fake_logits)


def clip_variables(variables, clip):
  """Clips each variable in place to [-clip, clip] (WGAN, Algorithm 1, line 7)."""
  for variable in variables:
    variable.assign(tf.clip_by_value(variable, -clip, clip))


@LOSSES.register("hinge")
class Hinge(common.NonRelativisticLoss):
  """Hinge GAN loss (Lim & Ye 2017; Miyato et al. 2018)."""

  loss_functions = (hinge_discriminator_loss, hinge_generator_loss)


@LOSSES.register("wasserstein")
class Wasserstein(common.NonRelativisticLoss):
  """WGAN loss (Arjovsky et al. 2017), with optional weight clipping.

  `clip` null (the default) leaves the Lipschitz constraint to a penalty such as
  `gradient_penalty`; a number c clips every trainable D variable to [-c, c]
  after each D update, as the paper does with c = 0.01.
  """

  loss_functions = (wasserstein_discriminator_loss, wasserstein_generator_loss)

  def __init__(self, clip=None):
    self.clip = None if clip is None else common.check_number("loss.clip", clip,
                                                              gt=0)

  def after_discriminator_update(self, discriminator):
    if self.clip is not None:
      clip_variables(discriminator.trainable_variables, self.clip)
