"""The one-step forms' D calls: `frozen_discriminator_call` (the `stateless`
form's G term) and one D forward on G(z) serving both L_D and L_G (the `fused`
and `shared` forms).

`routed_discriminator_call` returns two copies of D(G(z))'s logits. The
gradient reaching the first goes to D's weights only (L_D's share), the one
reaching the second goes to D's input only, and on to G (L_G's share).

- `fused` makes two backward passes through D: one from L_D's upstream u for
  the weights, one from L_G's upstream v for the input.
- `shared` makes one. When each logit k depends on its own samples alone, the
  input gradient under v_k is the one under u_k times v_k / u_k. So one pass
  from u gives D's weight gradient and, rescaled per sample, G's. Where u_k is
  0 or nearly (hinge past its margin) the pass uses EPSILON * v_k instead:
  D's weight gradient then carries at most 2 * EPSILON of that sample's L_G
  term, 2e-12 relative, far under float32 rounding (6e-8). A D with
  batch-coupled layers breaks the premise: `check_per_sample` refuses it
  before a run starts.
"""
import math

import numpy as np

from tfgan1 import tfimport
from tfgan1.errors import UserError

tf = tfimport.tensorflow()

EPSILON = 2.0 ** -40  # a power of two: scaling by it and back is exact


def routed_discriminator_call(gan, fake, labels=None, shared=False):
  """One D forward on `fake`, two copies of its logits: (to_weights, to_input).

  A custom gradient, since no stop-gradient placement can split one forward
  pass's backward by destination. `shared` computes the input gradient from the
  weights' backward pass (module docstring); under float16 compute it makes
  the second pass anyway, as float16 cannot hold EPSILON * v_k times D's
  Jacobian.

  Not done: joining the real batch into the same D call. Measured on CPU it
  was slower, for both forms (docs/BENCHMARKS.md).
  """
  @tf.custom_gradient
  def forward(x):
    with tf.GradientTape(persistent=True) as tape:
      tape.watch(x)
      raw = gan.discriminator(x if labels is None else [x, labels], training=True)
      logits = tf.cast(raw, tf.float32)
    one_pass = shared and raw.dtype != tf.float16

    def backward(to_weights, to_input, variables=None):
      if one_pass:
        upstream = shared_upstream(to_weights, to_input)
        grads = tape.gradient(logits, [x] + list(variables), output_gradients=upstream)
        x_grad = rescaled(grads[0], upstream, to_input)
        weight_grads = grads[1:]
      else:
        weight_grads = tape.gradient(logits, variables, output_gradients=to_weights)
        x_grad = tape.gradient(logits, x, output_gradients=to_input)
      weight_grads = [tf.zeros_like(v) if g is None else g
                      for g, v in zip(weight_grads, variables)]
      return x_grad, weight_grads

    return (logits, tf.identity(logits)), backward

  return forward(fake)


def shared_upstream(to_weights, to_input):
  """u, with EPSILON * v where |u_k| < EPSILON * |v_k| (so 0 only where v_k is)."""
  small = tf.abs(to_weights) < EPSILON * tf.abs(to_input)
  return tf.where(small, EPSILON * to_input, to_weights)


def rescaled(x_grad, upstream, to_input):
  """The input gradient under `to_input`, from `x_grad`, the one under `upstream`.

  Args:
    x_grad: `[B, ...]`, D's input gradient under `upstream`.
    upstream, to_input: `[n]` or `[n, 1]`, n dividing B: each logit scores
      B / n consecutive samples (PacGAN packing; 1 without).
  """
  ratio = tf.math.divide_no_nan(tf.reshape(to_input, [-1]), tf.reshape(upstream, [-1]))
  ratio = tf.repeat(ratio, tf.shape(x_grad)[0] // tf.shape(ratio)[0])
  shape = tf.concat([tf.shape(ratio), tf.ones([tf.rank(x_grad) - 1], tf.int32)], 0)
  return x_grad * tf.cast(tf.reshape(ratio, shape), x_grad.dtype)


def frozen_discriminator_call(discriminator, x, labels=None):
  """D(x) with stop-gradient weights: gradients reach x only.

  Keras 3 `stateless_call` takes the weights as inputs, so D's backward pass
  computes no weight gradients that would be thrown away. Updated non-trainable
  state (BatchNorm statistics) is discarded: D's own calls already updated it.
  `check_per_sample` reads D through it too, so that its probes move no state.
  """
  trainable = [tf.stop_gradient(v) for v in discriminator.trainable_variables]
  non_trainable = [tf.convert_to_tensor(v) for v in discriminator.non_trainable_variables]
  inputs = x if labels is None else [x, labels]
  logits, _ = discriminator.stateless_call(trainable, non_trainable, inputs, training=True)
  return tf.cast(logits, tf.float32)


def check_per_sample(discriminator, fake, labels=None, name="discriminator"):
  """Refuses (UserError) a D that the `shared` form would get wrong.

  Each of D's n logits must read only its own run of B / n consecutive samples.
  For every bit of the logit index, the runs with that bit set (then clear) get
  new samples: every logit of an unchanged run must keep its value. Any pair of
  runs differs in some bit, so a logit reading another run's samples (BatchNorm
  in training mode, minibatch statistics, strided packing) is caught.
  """
  fake = tf.convert_to_tensor(fake)
  batch = int(fake.shape[0])
  # Two draws around `fake` (which may be B copies of one sample, from zero noise).
  spread = max(float(tf.math.reduce_std(fake)), 0.1 * float(tf.reduce_mean(tf.abs(fake))), 0.1)
  draw = lambda seed: fake + spread * tf.random.stateless_normal(
      tf.shape(fake), seed, dtype=fake.dtype)
  fake, other = draw([7, 11]), draw([13, 17])
  logits = lambda x: np.reshape(frozen_discriminator_call(discriminator, x, labels).numpy(), [-1])
  base = logits(fake)
  n = base.size
  where = ("train.one_step_form: 'shared' needs a discriminator that scores each "
           f"sample (or each pack of consecutive samples) on its own; {name}")
  if n == 0 or n > batch or batch % n:
    raise UserError(f"{where} gives {n} logits for a batch of {batch} (allowed: one "
                    "logit per sample or per pack; else use 'fused')")
  group = batch // n
  tolerance = 1e-4 * (np.abs(base).max() + 1e-3)
  for bit in range(max(1, math.ceil(math.log2(n)))):
    for value in (0, 1):
      runs = ((np.arange(n) >> bit) & 1) == value
      if runs.all():
        continue
      new = tf.where(np.repeat(runs, group).reshape([-1] + [1] * (fake.shape.rank - 1)),
                     other, fake)
      moved = np.abs(logits(new) - base)[~runs]
      if moved.max() > tolerance:
        raise UserError(f"{where} moves a logit by {moved.max():.3g} when only other "
                        "samples change (a batch-coupled layer: BatchNorm, minibatch "
                        "statistics); use 'fused'")
