"""LeCam regularisation of D (Tseng, Jiang, Liu, Yang, Yang, "Regularizing
Generative Adversarial Networks under Limited Data", CVPR 2021,
arXiv:2104.03310, Eq. 3):

    R_LC = E_x[ relu(D(x) - a_F)^2 ] + E_z[ relu(a_R - D(G(z)))^2 ]

a_R and a_F are exponential moving averages of D's mean output on real and
generated samples. Reference: google/lecam-gan, biggan_cifar/losses.py
(`lecam_reg`) and third_party/utils.py (`ema_losses`: decay 0.99, decay 0
before `start_itr`, 1000 in biggan_cifar/train.py), commit db6debc0; the
StyleGAN2 port stylegan2/lecam_loss.py (eaf2bd4e) moves the averages with the
current batch before the penalty reads them, as both do here.

The anchors are state, kept in the run's checkpoint: the penalty's value reads
them as the step began plus this batch's means (stop-gradient), and
`after_step` writes the same numbers once the step is kept, from the step's
`d_real` / `d_fake` metrics (the mean logits of the same D calls). So every
gradient call of one step (the one-step forms, `--verify`) sees the same
anchors, and D's gradient is the one R_LC's formula gives.
"""
import tensorflow as tf

from tfgan1.plugins.losses.common import check_number, flat_logits
from tfgan1.registry import PENALTIES


def lecam_value(real_logits, fake_logits, anchor_real, anchor_fake):
  """Eq. 3: mean(relu(D(x) - a_F)^2) + mean(relu(a_R - D(G(z)))^2)."""
  real_logits, fake_logits = flat_logits(real_logits), flat_logits(fake_logits)
  return (tf.reduce_mean(tf.square(tf.nn.relu(real_logits - anchor_fake)))
          + tf.reduce_mean(tf.square(tf.nn.relu(anchor_real - fake_logits))))


def _variable(name, dtype=tf.float32):
  # MEAN: under a strategy each replica's assignment is averaged, as the
  # reference's ON_READ/MEAN variables are.
  return tf.Variable(tf.zeros([], dtype), trainable=False, name=name,
                     aggregation=tf.VariableAggregation.MEAN if dtype.is_floating
                     else tf.VariableAggregation.ONLY_FIRST_REPLICA)


@PENALTIES.register("lecam")
class LeCam:
  """`weight`: the paper's lambda; `decay` of the anchors' averages; `start`: steps during which the anchors are
  the current batch's means (the reference's `start_itr`)."""
  needs_eager = True  # its state is eager tf.Variables

  def __init__(self, decay=0.99, start=1000):
    self.decay = check_number("penalties.lecam.decay", decay, ge=0)
    if self.decay >= 1:
      raise ValueError(f"penalties.lecam.decay: {decay!r} must be below 1")
    self.start = int(check_number("penalties.lecam.start", start, ge=0))
    self.state = {"lecam_anchor_real": _variable("lecam_anchor_real"),
                  "lecam_anchor_fake": _variable("lecam_anchor_fake"),
                  "lecam_updates": _variable("lecam_updates", tf.int64)}

  def anchors(self, real_mean, fake_mean):
    """(a_R, a_F) after this step's means (the reference's `ema_losses.update`)."""
    s = self.state
    decay = tf.where(s["lecam_updates"] < self.start, 0.0, self.decay)
    return (decay * s["lecam_anchor_real"] + (1.0 - decay) * real_mean,
            decay * s["lecam_anchor_fake"] + (1.0 - decay) * fake_mean)

  def __call__(self, d_call, real_data, fake_data, seed):
    del seed  # deterministic
    real_logits, fake_logits = flat_logits(d_call(real_data)), flat_logits(d_call(fake_data))
    anchor_real, anchor_fake = self.anchors(tf.stop_gradient(tf.reduce_mean(real_logits)),
                                            tf.stop_gradient(tf.reduce_mean(fake_logits)))
    return lecam_value(real_logits, fake_logits, anchor_real, anchor_fake)

  def after_step(self, metrics, ok):
    """Moves the anchors by the step's mean logits, only after a kept step."""
    s = self.state
    new = self.anchors(metrics["d_real"], metrics["d_fake"])
    for name, value in zip(("lecam_anchor_real", "lecam_anchor_fake"), new):
      s[name].assign(tf.where(ok, value, s[name]))
    s["lecam_updates"].assign_add(tf.cast(ok, tf.int64))
