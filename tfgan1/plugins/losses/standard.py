"""Cross-entropy and least-squares GAN losses: `minimax`, `non_saturating`,
`least_squares`.

Written in the style of TF-GAN's `losses_impl.py`: pure functions of the logits,
wrapped by thin registered classes. Every function takes float32 logits of shape
`[batch]` or `[batch, 1]` and returns a float32 scalar, the mean over the batch.
The cross-entropy forms use `softplus`, since -log(sigmoid(l)) = softplus(-l) and
-log(1 - sigmoid(l)) = softplus(l) without overflow for large |l|.
"""
import tensorflow as tf

from tfgan1.errors import UserError
from tfgan1.plugins.losses import common
from tfgan1.registry import LOSSES


@common.flattens_logits
def minimax_discriminator_loss(real_logits, fake_logits):
  """D loss of Goodfellow et al. 2014, "Generative Adversarial Nets" (arXiv:1406.2661).

  D maximises log D(x) + log(1 - D(G(z))), i.e. minimises
  mean(softplus(-real_logits)) + mean(softplus(fake_logits)).

  Args:
    real_logits: float32 `[batch]` or `[batch, 1]`, D's logits on real data.
    fake_logits: float32 `[batch]` or `[batch, 1]`, D's logits on generated data.

  Returns:
    A float32 scalar.
  """
  return (tf.reduce_mean(tf.nn.softplus(-real_logits))
          + tf.reduce_mean(tf.nn.softplus(fake_logits)))


@common.flattens_logits
def minimax_generator_loss(fake_logits):
  """G loss of Goodfellow et al. 2014 (arXiv:1406.2661), the saturating form.

  G minimises mean(log(1 - D(G(z)))) = -mean(softplus(fake_logits)); its gradient
  vanishes when D confidently rejects the samples, as the paper notes.

  Args:
    fake_logits: float32 `[batch]` or `[batch, 1]`, D's logits on generated data.

  Returns:
    A float32 scalar (never positive).
  """
  return -tf.reduce_mean(tf.nn.softplus(fake_logits))


@common.flattens_logits
def non_saturating_generator_loss(fake_logits):
  """Non-saturating G loss of Goodfellow et al. 2014 (arXiv:1406.2661), Sec. 3.

  G maximises mean(log D(G(z))), i.e. minimises mean(softplus(-fake_logits)).
  The D loss is the minimax one (`minimax_discriminator_loss`).

  Args:
    fake_logits: float32 `[batch]` or `[batch, 1]`, D's logits on generated data.

  Returns:
    A float32 scalar.
  """
  return tf.reduce_mean(tf.nn.softplus(-fake_logits))


@common.flattens_logits
def least_squares_discriminator_loss(real_logits, fake_logits, a=0.0, b=1.0):
  """D loss of Mao et al. 2017, "Least Squares GANs" (arXiv:1611.04076), Eq. 2.

  0.5 * mean((D(x) - b)^2) + 0.5 * mean((D(G(z)) - a)^2), D being the raw logit.

  Args:
    real_logits: float32 `[batch]` or `[batch, 1]`, D's outputs on real data.
    fake_logits: float32 `[batch]` or `[batch, 1]`, D's outputs on generated data.
    a: label of fake data.
    b: label of real data.

  Returns:
    A float32 scalar.
  """
  return (0.5 * tf.reduce_mean(tf.square(real_logits - b))
          + 0.5 * tf.reduce_mean(tf.square(fake_logits - a)))


@common.flattens_logits
def least_squares_generator_loss(fake_logits, c=1.0):
  """G loss of Mao et al. 2017 (arXiv:1611.04076), Eq. 2: 0.5 * mean((D(G(z)) - c)^2).

  Args:
    fake_logits: float32 `[batch]` or `[batch, 1]`, D's outputs on generated data.
    c: the value G wants D to output for generated data.

  Returns:
    A float32 scalar.
  """
  return 0.5 * tf.reduce_mean(tf.square(fake_logits - c))


@LOSSES.register("minimax")
class Minimax(common.NonRelativisticLoss):
  """The original saturating GAN game (Goodfellow et al. 2014)."""

  loss_functions = (minimax_discriminator_loss, minimax_generator_loss)


@LOSSES.register("non_saturating")
class NonSaturating(common.NonRelativisticLoss):
  """Minimax D loss with the non-saturating G loss (Goodfellow et al. 2014)."""

  loss_functions = (minimax_discriminator_loss, non_saturating_generator_loss)


@LOSSES.register("least_squares")
class LeastSquares(common.NonRelativisticLoss):
  """LSGAN (Mao et al. 2017) with labels a (fake), b (real) and G target c.

  The defaults a=0, b=1, c=1 are the paper's 0-1 coding (Eq. 9); a=-1, b=1, c=0
  is its Pearson chi^2 setting (Eq. 8).
  """

  loss_functions = (least_squares_discriminator_loss, least_squares_generator_loss)
  discriminator_kwargs = ("a", "b")
  generator_kwargs = ("c",)

  def __init__(self, a=0.0, b=1.0, c=1.0):
    self.a = common.check_number("loss.a", a)
    self.b = common.check_number("loss.b", b)
    self.c = common.check_number("loss.c", c)
    if self.a == self.b:
      raise UserError(f"loss.b: {b!r} is not allowed; must differ from "
                      f"loss.a ({a!r}), or D has nothing to separate")
