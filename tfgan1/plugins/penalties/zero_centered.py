"""Zero-centred gradient penalties of Mescheder et al. 2018, "Which Training
Methods for GANs do actually Converge?" (arXiv:1801.04406): `r1` on real data and
`r2` on generated data.

Convention: the value INCLUDES the 1/2, value = 0.5 * mean_i ||grad D(x_i)||^2,
so the paper's R1 term (gamma / 2) * E||grad D||^2 is this penalty with
`weight: gamma`. The squared norm needs no sqrt, hence no epsilon. The result is
an unweighted float32 scalar (the core applies `weight` and lazy `every`).
"""
import tensorflow as tf

from tfgan1.plugins.penalties import common
from tfgan1.registry import PENALTIES


def zero_centered_penalty(discriminator, data):
  """Returns 0.5 * mean over the batch of ||dD/dx||^2 at `data`.

  Args:
    discriminator: callable mapping `[batch, ...]` inputs to logits `[batch]`
      or `[batch, 1]`.
    data: `[batch, ...]` points where the gradient is taken.

  Returns:
    A float32 scalar.
  """
  gradients = common.input_gradients(discriminator, data)
  return 0.5 * tf.reduce_mean(common.squared_norms(gradients))


@PENALTIES.register("r1")
class R1:
  """R1 (Mescheder et al. 2018, Eq. 9): 0.5 * E_real ||grad D(x)||^2."""

  def __call__(self, discriminator, real_data, fake_data, seed):
    del fake_data, seed  # R1 is deterministic and looks at real data only.
    return zero_centered_penalty(discriminator, real_data)


@PENALTIES.register("r2")
class R2:
  """R2 (Mescheder et al. 2018, Eq. 10): 0.5 * E_fake ||grad D(G(z))||^2.

  `fake_data` arrives stop-gradient, so the penalty trains D only.
  """

  def __call__(self, discriminator, real_data, fake_data, seed):
    del real_data, seed  # R2 is deterministic and looks at generated data only.
    return zero_centered_penalty(discriminator, fake_data)
