"""Path-length regularisation of G (Karras et al. 2020, "Analyzing and Improving
the Image Quality of StyleGAN", arXiv:1912.04958, Eq. 4), a G penalty:

    E_{w, y} ( ||J_w^T y||_2 - a )^2,   y ~ N(0, I) / sqrt(H W)

J_w the Jacobian of the image with respect to the styles w, a the running
mean of the lengths. As NVlabs/stylegan2-ada-pytorch training/loss.py
(StyleGAN2Loss, `Gpl`): on the first batch / `batch_shrink` samples, the
length of each sample is sqrt(mean over the style inputs of the squared
gradient summed over w's entries); a = a + decay (mean length - a), from 0,
and the penalty is mean((length - a)^2). The paper's weight 2, lazily every 4
steps, is `weight: 2, every: 4` (the core multiplies by `every`, as the
official code's gain does).

The running mean is state, kept in the run's checkpoint. The value reads it
as the step began, moved by this batch's stop-gradient mean, so every
gradient call of a step (the one-step forms, `--verify`) agrees; the batch
mean is noted in a scratch variable and `after_step` moves the kept mean to
the same number once the step is kept (only on steps that computed it).

Needs a generator made of a mapping part and a synthesis part reading the
styles, named `stylegan2_mapping` and `stylegan2_synthesis` (the stylegan2
architecture's G).
"""
import tensorflow as tf

from tfgan1.errors import UserError
from tfgan1.plugins.losses.common import check_number
from tfgan1.registry import PENALTIES

MAPPING, SYNTHESIS = "stylegan2_mapping", "stylegan2_synthesis"


def path_lengths(synthesis, ws, z, seed):
  """||J_w^T y|| per sample: [n] float32, differentiable in G's weights."""
  with tf.GradientTape() as tape:
    tape.watch(ws)
    img = tf.cast(synthesis([ws, z], training=True), tf.float32)
    area = tf.cast(tf.shape(img)[1] * tf.shape(img)[2], tf.float32)
    y = tf.random.stateless_normal(tf.shape(img), seed) / tf.sqrt(area)
    total = tf.reduce_sum(img * y)
  grads = tf.cast(tape.gradient(total, ws), tf.float32)  # [n, num_ws, w_dim]
  return tf.sqrt(tf.reduce_mean(tf.reduce_sum(tf.square(grads), axis=2), axis=1))


def _variable(name):
  # MEAN: under a strategy each replica's assignment is averaged.
  return tf.Variable(0.0, trainable=False, name=name,
                     aggregation=tf.VariableAggregation.MEAN)


@PENALTIES.register("path_length")
class PathLength:
  """`decay`: the running mean's step (the paper's 0.01); `batch_shrink`: the
  penalty reads the first batch / batch_shrink samples (2)."""
  side = "g"
  needs_eager = True  # its state is eager tf.Variables

  def __init__(self, decay=0.01, batch_shrink=2):
    self.decay = check_number("penalties.path_length.decay", decay, gt=0)
    if self.decay > 1:
      raise ValueError(f"penalties.path_length.decay: {decay!r} must be at most 1")
    if isinstance(batch_shrink, bool) or not isinstance(batch_shrink, int) or batch_shrink < 1:
      raise ValueError(f"penalties.path_length.batch_shrink: {batch_shrink!r}; expected "
                       "an integer >= 1")
    self.batch_shrink = batch_shrink
    self.state = {"path_length_mean": _variable("path_length_mean"),
                  "path_length_batch_mean": _variable("path_length_batch_mean"),
                  "path_length_fresh": _variable("path_length_fresh")}

  def _parts(self, generator):
    try:
      return generator.get_layer(MAPPING), generator.get_layer(SYNTHESIS)
    except ValueError:
      raise UserError(f"penalties: 'path_length' needs a generator with parts named "
                      f"{MAPPING!r} and {SYNTHESIS!r} (generator.name: stylegan2); "
                      f"{generator.name!r} has none") from None

  def moved_mean(self, batch_mean):
    """The running mean after this batch's mean (the official `lerp`)."""
    mean = self.state["path_length_mean"]
    return mean + self.decay * (batch_mean - mean)

  def __call__(self, generator, z, seed):
    mapping, synthesis = self._parts(generator)
    noise, labels = (z[0], z[1]) if isinstance(z, (tuple, list)) else (z, None)
    n = max(1, int(noise.shape[0]) // self.batch_shrink)
    noise = noise[:n]
    ws = mapping(noise if labels is None else [noise, labels[:n]], training=True)
    lengths = path_lengths(synthesis, ws, noise, seed)
    batch_mean = tf.stop_gradient(tf.reduce_mean(lengths))
    self.state["path_length_batch_mean"].assign(batch_mean)
    self.state["path_length_fresh"].assign(1.0)
    return tf.reduce_mean(tf.square(lengths - self.moved_mean(batch_mean)))

  def after_step(self, metrics, ok):
    """Moves the running mean to the value this step's penalty read, if kept."""
    del metrics
    s = self.state
    move = tf.logical_and(tf.cast(ok, tf.bool), s["path_length_fresh"] > 0)
    s["path_length_mean"].assign(tf.where(move, self.moved_mean(s["path_length_batch_mean"]),
                                          s["path_length_mean"]))
    s["path_length_fresh"].assign(0.0)
