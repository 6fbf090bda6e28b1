"""ReACGAN's Data-to-Data Cross-Entropy loss (Kang, Shim, Kang, Park, "Rebooting
ACGAN: Auxiliary Classifier GANs with Stable Training", NeurIPS 2021,
arXiv:2111.01118, Eq. 7), as a loss family over a D with the D2D-CE head
(`discriminator.head: d2dce`), whose outputs are [batch, 1 + 2E]: the
adversarial logit, D's embedding f of the sample and the proxy v of its label.

With s(a, b) the cosine similarity, t the temperature and m_p the margin:

    D2D-CE = mean_i [ relu((m_p - s(f_i, v_i)) / t)
                      + log(exp(-relu((m_p - s(f_i, v_i)) / t))
                            + sum_{j: y_j != y_i} exp(sim_ij)) ]
    sim_ij = relu((s(f_i, f_j) + m_p - 1) / t) - max_{k != i} (s(f_i, f_k) + m_p - 1) / t

the sample-to-proxy attraction and the repulsion of the other samples of the
batch that have another class (same-class samples are not negatives: the
paper's false-negative removal). The max is stop-gradient, as in the reference.
StudioGAN's worker adds w D2D-CE(real, real labels) to L_D and w D2D-CE(fake,
fake labels) to L_G (`aux_cls_type: W/O`, the paper's ReACGAN), as here.

Why D2D-CE rather than ContraGAN's 2C: the paper's point is that it fixes 2C's
and ACGAN's failure modes (early collapse, gradients that explode with the
feature norm) with margins on normalised embeddings, and it keeps the loss a
function of D's per-sample outputs and the labels, as 2C would need too.

The loss compares the samples of a batch (`reads_labels`: the engine passes the
labels); every term is still a function of D's outputs on one batch, so the
one-step G term's two copies, L_G(D(G(z))) and L_G(D(sg(G(z)))), have equal D
gradients and cancel (`--verify` checks it). Under several replicas each
replica's contrast set is its own slice of the batch (StudioGAN gathers it).
"""
import tensorflow as tf

from tfgan1.plugins.losses.common import adversarial_family, check_number
from tfgan1.registry import LOSSES, contracts


def split_outputs(outputs):
  """(adversarial logits [batch], embeddings [batch, E], proxies [batch, E])."""
  outputs = tf.cast(tf.convert_to_tensor(outputs), tf.float32)
  columns = outputs.shape[-1] if outputs.shape.rank == 2 else None
  if columns is None or columns < 3 or columns % 2 == 0:
    raise ValueError(f"the d2dce loss needs D's outputs of shape [batch, 1 + 2E], "
                     f"its logit, embedding and class proxy (discriminator.head: "
                     f"d2dce), got {outputs.shape}")
  width = (columns - 1) // 2
  return outputs[:, 0], outputs[:, 1:1 + width], outputs[:, 1 + width:]


def data_to_data_cross_entropy(embed, proxy, labels, temperature=0.5, margin=0.98):
  """The D2D-CE of a batch: `embed`, `proxy` [batch, E], `labels` int [batch].

  Follows StudioGAN's `Data2DataCrossEntropyLoss.forward` term by term (the
  diagonal is masked rather than cut out: its removal mask is 0 there).
  """
  embed = tf.math.l2_normalize(tf.cast(embed, tf.float32), axis=1)
  proxy = tf.math.l2_normalize(tf.cast(proxy, tf.float32), axis=1)
  labels = tf.reshape(tf.cast(labels, tf.int32), [-1])
  n = tf.shape(embed)[0]
  off_diagonal = tf.logical_not(tf.cast(tf.eye(n), tf.bool))
  sim = (tf.matmul(embed, embed, transpose_b=True) + margin - 1.0) / temperature
  sim_max = tf.reduce_max(tf.where(off_diagonal, sim, float("-inf")), axis=1, keepdims=True)
  sim = tf.nn.relu(sim) - tf.stop_gradient(sim_max)
  negatives = tf.logical_and(off_diagonal, tf.not_equal(labels[:, None], labels[None, :]))
  repelled = tf.reduce_sum(tf.where(negatives, tf.exp(sim), 0.0), axis=1)
  attraction = tf.nn.relu((margin - tf.reduce_sum(embed * proxy, axis=1)) / temperature)
  repulsion = tf.math.log(tf.exp(-attraction) + repelled)
  return tf.reduce_mean(attraction + repulsion)


@LOSSES.register("d2dce")
class DataToDataCrossEntropy:
  """`adversarial`: the real/fake family (ReACGAN: hinge); `class_weight`: w;
  `temperature`: t (0.5); `margin`: m_p (0.98), the defaults of StudioGAN's
  ReACGAN configs."""
  output_columns = None  # 1 + 2E, E set by D's head (train.g_top_k refuses it)
  reads_labels = True

  def __init__(self, adversarial="hinge", class_weight=1.0, temperature=0.5, margin=0.98):
    self.adversarial = adversarial_family(adversarial, ("acgan", "d2dce"))
    self.class_weight = check_number("loss.class_weight", class_weight, ge=0)
    self.temperature = check_number("loss.temperature", temperature, gt=0)
    self.margin = check_number("loss.margin", margin)

  def _d2dce(self, outputs, labels):
    if labels is None:
      raise ValueError("the d2dce loss needs the batch's labels (data.labels: true, "
                       "discriminator.conditional: true)")
    _, embed, proxy = split_outputs(outputs)
    if labels.shape[0] is not None and embed.shape[0] is not None:
      if labels.shape[0] != embed.shape[0] or embed.shape[0] < 2:
        raise ValueError(f"the d2dce loss needs one label per row of D's outputs and "
                         f"at least 2 rows, got {labels.shape[0]} labels for "
                         f"{embed.shape[0]} rows")
    return data_to_data_cross_entropy(embed, proxy, labels, self.temperature, self.margin)

  def discriminator_loss(self, real_logits, fake_logits, real_labels=None, fake_labels=None):
    del fake_labels  # ReACGAN's D contrasts the real batch only
    adversarial = self.adversarial.discriminator_loss(split_outputs(real_logits)[0],
                                                      split_outputs(fake_logits)[0])
    return adversarial + self.class_weight * self._d2dce(real_logits, real_labels)

  def generator_loss(self, fake_logits, real_logits=None, fake_labels=None):
    del real_logits  # G's term reads its own samples only
    return (self.adversarial.generator_loss(split_outputs(fake_logits)[0], None)
            + self.class_weight * self._d2dce(fake_logits, fake_labels))

  def after_discriminator_update(self, discriminator):
    """The adversarial family's hook (WGAN's weight clipping), if it has one."""
    contracts.hook(self.adversarial, "loss", "after_discriminator_update")(discriminator)
