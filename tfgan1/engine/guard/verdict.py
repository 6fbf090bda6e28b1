"""The finite verdict of one step: is every loss and gradient finite, and if not,
which quantity was the first bad one (losses before gradients, so a NaN loss is
named rather than its NaN gradient)."""
import collections

from tfgan1 import tfimport

tf = tfimport.tensorflow()

Verdict = collections.namedtuple("Verdict", "ok losses_ok first value names")


def poison(tensors):
  """0.0 when every element of `tensors` is finite, else nan (0 * inf is nan).

  One multiply-and-sum per tensor: cheaper than is_finite/is_nan reductions,
  which XLA on CPU ran several times slower here."""
  if not tensors:
    return tf.constant(0.0)
  return tf.add_n([tf.reduce_sum(tf.cast(t, tf.float32) * 0.0) for t in tensors])


def verdict(parts, agree=lambda flag: flag):
  """Checks [(metrics, d_grads, g_grads), ...]; `agree` ands a flag over replicas."""
  names, values, bad_parts = [], [], []
  for metrics, d_grads, g_grads in parts:
    keys = sorted(metrics, key=lambda k: (not k.startswith("loss_"), k))
    names += keys + ["grad_norm_d", "grad_norm_g"]
    values += [tf.cast(metrics[k], tf.float32) for k in keys]
    bad_parts += [poison([metrics[k]]) for k in keys] + [poison(d_grads), poison(g_grads)]
    values += bad_parts[-2:]  # a gradient is reported as nan
  is_loss = tf.constant([0.0 if n.startswith("grad_norm_") else 1.0 for n in names])
  bad_parts, values = tf.stack(bad_parts), tf.stack(values)
  ok = tf.equal(tf.reduce_sum(bad_parts), 0.0)  # nan != 0
  bad = tf.cast(tf.not_equal(bad_parts, 0.0), tf.float32)
  first = tf.cast(tf.argmax(bad), tf.int32)
  losses_ok = tf.equal(tf.reduce_sum(bad * is_loss), 0.0)
  return Verdict(agree(ok), agree(losses_ok), first, tf.gather(values, first), names)
