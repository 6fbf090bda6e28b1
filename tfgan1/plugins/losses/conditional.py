"""ACGAN's auxiliary-classifier loss (Odena, Olah, Shlens, "Conditional Image
Synthesis with Auxiliary Classifier GANs", ICML 2017, arXiv:1610.09585), as a
loss family over a D with the ACGAN head (`discriminator.head: acgan`), whose
outputs are [batch, 2]: the adversarial logit and log p(y | x), the auxiliary
classifier's log-probability of the sample's label.

    L_D = L_D^adv(D(x), D(G(z))) + w (CE(x, y) + CE(G(z), y_fake))
    L_G = L_G^adv(D(G(z)))       + w CE(G(z), y_fake)           CE = -log p(y | x)

the paper's L_S and L_C (Sec. 3: D maximises L_S + L_C, G maximises L_C - L_S),
with the adversarial part any non-relativistic family (the paper's cross-entropy
is `non_saturating`; StudioGAN pairs ACGAN with hinge). StudioGAN's worker
(POSTECH-CVLab/PyTorch-StudioGAN src/worker.py, 2020 release) adds the two
cross-entropies to D's loss and the fake one to G's, as here with w = 1. Both
losses are functions of D's outputs alone, so the one-step G term cancels in
D's gradient as for any family.
"""
import tensorflow as tf

from tfgan1.plugins.losses.common import adversarial_family, check_number
from tfgan1.registry import LOSSES, contracts


def split_outputs(outputs):
  """(adversarial logits [batch], log p(y|x) [batch]) of an ACGAN head's [batch, 2]."""
  outputs = tf.cast(tf.convert_to_tensor(outputs), tf.float32)
  if outputs.shape.rank != 2 or outputs.shape[-1] != 2:
    raise ValueError(f"the acgan loss needs D's outputs of shape [batch, 2] "
                     f"(discriminator.head: acgan), got {outputs.shape}")
  return outputs[:, 0], outputs[:, 1]


def cross_entropy(outputs):
  """mean(-log p(y | x)) over the batch."""
  return -tf.reduce_mean(split_outputs(outputs)[1])


@LOSSES.register("acgan")
class AuxiliaryClassifier:
  """`adversarial`: the loss family of the real/fake part; `class_weight`: w."""
  output_columns = 2  # the ACGAN head's (train.g_top_k refuses it)

  def __init__(self, adversarial="non_saturating", class_weight=1.0):
    self.adversarial = adversarial_family(adversarial, ("acgan",))
    self.class_weight = check_number("loss.class_weight", class_weight, ge=0)

  def discriminator_loss(self, real_logits, fake_logits):
    adversarial = self.adversarial.discriminator_loss(split_outputs(real_logits)[0],
                                                      split_outputs(fake_logits)[0])
    return adversarial + self.class_weight * (cross_entropy(real_logits)
                                              + cross_entropy(fake_logits))

  def generator_loss(self, fake_logits, real_logits=None):
    del real_logits  # G's classifier term reads its own samples only
    return (self.adversarial.generator_loss(split_outputs(fake_logits)[0], None)
            + self.class_weight * cross_entropy(fake_logits))

  def after_discriminator_update(self, discriminator):
    """The adversarial family's hook (WGAN's weight clipping), if it has one."""
    contracts.hook(self.adversarial, "loss", "after_discriminator_update")(discriminator)
