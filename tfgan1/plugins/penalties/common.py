"""Input gradients of D and their per-sample norms, shared by the penalties."""
import tensorflow as tf

# Added to the squared norm inside the sqrt: d sqrt(s)/ds is infinite at s = 0,
# so a sample whose input gradient vanishes would otherwise give NaN gradients
# to D's parameters. Its effect on a norm near 1 is about 5e-13.
NORM_EPSILON = 1e-12


def input_gradients(discriminator, inputs):
  """Returns dD/dx for each sample of `inputs` (same shape, float32).

  A nested tape: when this runs under the caller's tape, the gradient itself is
  recorded there, so the penalty can be differentiated w.r.t. D's parameters
  (double backprop). Summing the logits gives each sample's own gradient, since
  D treats samples independently (no batch statistics in a penalised D).

  Args:
    discriminator: callable mapping `[batch, ...]` inputs to logits `[batch]`
      or `[batch, 1]`.
    inputs: `[batch, ...]` tensor where the gradient is taken.

  Returns:
    A float32 tensor shaped like `inputs`.
  """
  inputs = tf.convert_to_tensor(inputs)
  with tf.GradientTape() as tape:
    tape.watch(inputs)
    logits = discriminator(inputs)
    # float32 before the sum, so a float16 D does not overflow the reduction.
    total = tf.reduce_sum(tf.cast(logits, tf.float32))
  return tf.cast(tape.gradient(total, inputs), tf.float32)


def squared_norms(gradients):
  """Returns sum(g^2) over all non-batch axes: a float32 `[batch]` tensor."""
  gradients = tf.reshape(gradients, [tf.shape(gradients)[0], -1])
  return tf.reduce_sum(tf.square(gradients), axis=1)


def norms(gradients):
  """Returns sqrt(sum(g^2) + NORM_EPSILON) per sample: a float32 `[batch]` tensor."""
  return tf.sqrt(squared_norms(gradients) + NORM_EPSILON)


def per_sample_uniform(inputs, seed):
  """Returns U[0, 1) values of shape `[batch, 1, ..., 1]`, one per sample.

  The trailing 1s broadcast each sample's value over all its non-batch axes.
  """
  rank = inputs.shape.rank
  shape = tf.concat([tf.shape(inputs)[:1], tf.ones([rank - 1], tf.int32)], 0)
  return tf.random.stateless_uniform(shape, seed=seed, dtype=inputs.dtype)
