"""Consistency regularisation, Zhao, Zhang, Chen, Singh, Zhang, "Improved
Consistency Regularization for GANs", AAAI 2021 (arXiv:2002.04724):

    bcr    (D):  l_real mean((D(x) - D(T(x)))^2) + l_fake mean((D(G(z)) - D(T(G(z))))^2)
    zcr    (D):  mean((D(G(z)) - D(G(z + dz)))^2)                   weight: lambda_dis
    zcr_g  (G): -mean((G(z) - G(z + dz))^2)                         weight: lambda_gen

dz ~ N(0, sigma^2), sigma 0.03; T: flips and translations (the paper's CIFAR
augmentation). Means over every element, as the MSELoss of the reference
implementation the paper's numbers were reproduced with (POSTECH-CVLab/
PyTorch-StudioGAN src/worker.py, 2020 release: `bcr`, `zcr`, `l2_loss =
MSELoss()`, `zcr_gen_loss = -1 * l2_loss(fake_images, fake_images_zaug)`).
zcr and zcr_g draw their own dz (each term its own seed); StudioGAN shares one.
"""
import tensorflow as tf

from tfgan1.config.sections import AUGMENT_OPS
from tfgan1.gan.augment import Augment
from tfgan1.plugins.losses.common import check_number
from tfgan1.plugins.penalties.generator import generate
from tfgan1.registry import PENALTIES


def mean_square_difference(a, b):
  """mean((a - b)^2) over every element, in float32 (torch's MSELoss)."""
  return tf.reduce_mean(tf.square(tf.cast(a, tf.float32) - tf.cast(b, tf.float32)))


def perturbed(noise, seed, sigma):
  """noise + N(0, sigma^2), one draw per entry."""
  return noise + sigma * tf.random.stateless_normal(tf.shape(noise), seed, dtype=noise.dtype)


def _sigma(field, value):
  return check_number(field, value, gt=0)


@PENALTIES.register("bcr")
class BalancedConsistency:
  """bCR (Eq. 1 of Zhang et al. 2020 for reals, Sec. 3.1 of Zhao et al. 2021 for
  fakes): D's logits on an image and its augmented copy agree. `weight` is the
  paper's lambda (10); `real` and `fake` scale the two halves (lambda_real /
  lambda, lambda_fake / lambda). `policy`: augment ops (default flips and
  translations by up to 1/8 of the size), drawn anew from the penalty's seed,
  on top of any run-wide augmentation the inputs already had."""

  def __init__(self, real=1.0, fake=1.0, policy="xflip,translation"):
    self.real = check_number("penalties.bcr.real", real, ge=0)
    self.fake = check_number("penalties.bcr.fake", fake, ge=0)
    names = policy.split(",") if isinstance(policy, str) else [None]
    if not all(n in AUGMENT_OPS for n in names):
      raise ValueError(f"penalties.bcr.policy: {policy!r} must be names from "
                       f"{', '.join(AUGMENT_OPS)}, comma-separated")
    self.augment = Augment(policy, 1.0)

  def __call__(self, d_call, real_data, fake_data, seed):
    fold = tf.random.experimental.stateless_fold_in
    total = tf.constant(0.0)
    for i, (scale, data) in enumerate(((self.real, real_data), (self.fake, fake_data))):
      if scale:
        twin = self.augment(data, fold(seed, i))
        total += scale * mean_square_difference(d_call(data), d_call(twin))
    return total


@PENALTIES.register("zcr")
class LatentConsistencyD:
  """zCR's D term: D's scores of G(z) and G(z + dz) agree (G under stop-gradient).
  `weight`: the paper's lambda_dis (5)."""
  reads_noise = True

  def __init__(self, sigma=0.03):
    self.sigma = _sigma("penalties.zcr.sigma", sigma)

  def __call__(self, d_call, real_data, fake_data, seed, noise=None, fake_scores=None):
    del d_call, real_data, fake_data  # D reads G's samples of both noises
    return mean_square_difference(fake_scores(noise),
                                  fake_scores(perturbed(noise, seed, self.sigma)))


@PENALTIES.register("zcr_g")
class LatentConsistencyG:
  """zCR's G term (a G penalty): G's outputs for z and z + dz differ, so the value
  is minus their mean squared difference. `weight`: the paper's lambda_gen (0.5)."""
  side = "g"

  def __init__(self, sigma=0.03):
    self.sigma = _sigma("penalties.zcr_g.sigma", sigma)

  def __call__(self, generator, z, seed):
    labels = z[1] if isinstance(z, (tuple, list)) else None
    noise = z[0] if labels is not None else z
    other = perturbed(noise, seed, self.sigma)
    return -mean_square_difference(
        generate(generator, z), generate(generator, other if labels is None else (other, labels)))
