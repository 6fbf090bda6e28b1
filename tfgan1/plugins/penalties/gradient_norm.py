"""Penalties pulling D's input-gradient norm towards a target, at random points:
`gradient_penalty` (WGAN-GP) and `dragan`.

Each returns the float32 scalar mean over the batch, unweighted (the core applies
`weight` and lazy `every`). Randomness comes only from `tf.random.stateless_*`
with the given seed, so every update rule sees the same points. Norms are taken
per sample over all non-batch axes as sqrt(sum(g^2) + 1e-12) (see
`common.NORM_EPSILON`).
"""
import tensorflow as tf

from tfgan1.plugins.losses.common import check_bool
from tfgan1.plugins.losses.common import check_number
from tfgan1.plugins.penalties import common
from tfgan1.registry import PENALTIES


def norm_penalty(gradients, target=1.0, one_sided=False):
  """Returns mean((||g|| - target)^2), or mean(max(0, ||g|| - target)^2).

  Args:
    gradients: float32 `[batch, ...]` input gradients of D.
    target: the wanted per-sample gradient norm.
    one_sided: penalise only norms above `target`.

  Returns:
    A float32 scalar.
  """
  excess = common.norms(gradients) - target
  if one_sided:
    excess = tf.nn.relu(excess)
  return tf.reduce_mean(tf.square(excess))


def interpolates(real_data, fake_data, seed):
  """Returns real + u * (fake - real), with one u ~ U[0, 1) per sample.

  Args:
    real_data: `[batch, ...]` real samples.
    fake_data: `[batch, ...]` generated samples, same shape.
    seed: shape-`[2]` int32 seed for `tf.random.stateless_uniform`.

  Returns:
    A tensor shaped like `real_data`.
  """
  real_data = tf.convert_to_tensor(real_data)
  fake_data = tf.cast(fake_data, real_data.dtype)
  mix = common.per_sample_uniform(real_data, seed)
  return real_data + mix * (fake_data - real_data)


def dragan_perturb(real_data, seed, scale=0.5):
  """Returns x + scale * std(x) * u, with u ~ U[0, 1) drawn per element.

  std(x) is the scalar standard deviation of the whole real batch, as in the
  DRAGAN reference code (`X + 0.5 * X.std() * np.random.random(X.shape)`).

  Args:
    real_data: `[batch, ...]` real samples.
    seed: shape-`[2]` int32 seed for `tf.random.stateless_uniform`.
    scale: noise size relative to the batch's standard deviation.

  Returns:
    A tensor shaped like `real_data`.
  """
  real_data = tf.convert_to_tensor(real_data)
  noise = tf.random.stateless_uniform(tf.shape(real_data), seed=seed,
                                      dtype=real_data.dtype)
  return real_data + scale * tf.math.reduce_std(real_data) * noise


@PENALTIES.register("gradient_penalty")
class GradientPenalty:
  """WGAN-GP: Gulrajani et al. 2017, "Improved Training of Wasserstein GANs"
  (arXiv:1704.00028), Eq. 3: E[(||grad D(x_hat)|| - target)^2], x_hat uniform on
  lines between paired real and fake samples.

  `one_sided` gives E[max(0, ||grad D(x_hat)|| - target)^2], the variant the
  paper's Sec. 4 weighs against and Petzka et al. 2018 (arXiv:1709.08894)
  advocate; `target` 0 gives a zero-centred penalty on the interpolates.
  """

  def __init__(self, target=1.0, one_sided=False):
    self.target = check_number("penalties.gradient_penalty.target", target, ge=0)
    self.one_sided = check_bool("penalties.gradient_penalty.one_sided",
                                one_sided)

  def __call__(self, discriminator, real_data, fake_data, seed):
    points = interpolates(real_data, fake_data, seed)
    gradients = common.input_gradients(discriminator, points)
    return norm_penalty(gradients, self.target, self.one_sided)


@PENALTIES.register("dragan")
class Dragan:
  """DRAGAN: Kodali et al. 2017, "On Convergence and Stability of GANs"
  (arXiv:1705.07215): E[(||grad D(x + delta)|| - target)^2] around real data,
  delta = scale * std(x) * U[0, 1). `fake_data` is not used.
  """

  def __init__(self, scale=0.5, target=1.0):
    self.scale = check_number("penalties.dragan.scale", scale, gt=0)
    self.target = check_number("penalties.dragan.target", target, ge=0)

  def __call__(self, discriminator, real_data, fake_data, seed):
    del fake_data  # DRAGAN regularises D only around the data manifold.
    points = dragan_perturb(real_data, seed, self.scale)
    gradients = common.input_gradients(discriminator, points)
    return norm_penalty(gradients, self.target)
