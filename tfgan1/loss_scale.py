"""One loss scale and one finite check per train step, for every update rule.

`StepGuard` is what makes an update conditional. Every rule hands it the step's
losses and gradients; on device it decides whether the step is finite, applies
the update only then, and counts skipped steps, so the host reads nothing until
a logging step. With a dynamic loss scale (float16) the same check is the
overflow check: a skipped step halves the scale, `growth_interval` good steps in
a row double it.

Why not `keras.optimizers.LossScaleOptimizer`: it keeps its scale inside ONE
optimizer and decides to skip from that optimizer's gradients alone. With one
optimizer per network (TTUR, simultaneous, alternating) each would keep its own
scale, and an overflow in G's gradients would still apply D's update: the trap
apex and accelerate users hit. Even with one shared optimizer its skip covers
only the optimizer; the step must also skip spectral norm's `u`, the weight-clip
hook and the EMA, and the same check must stop or skip non-finite float32 runs,
where no scale is wanted. So one guard per step serves every rule.
"""
from tfgan1 import tfimport
from tfgan1.errors import NonFiniteStop

tf = tfimport.tensorflow()

_MAX_SCALE = 2.0 ** 32  # doubling forever would reach inf, which never recovers


def _poison(tensors):
  """0.0 when every element of `tensors` is finite, else nan (0 * inf is nan).

  One multiply-and-sum per tensor: cheaper than is_finite/is_nan reductions,
  which XLA on CPU ran several times slower here."""
  if not tensors:
    return tf.constant(0.0)
  return tf.add_n([tf.reduce_sum(tf.cast(t, tf.float32) * 0.0) for t in tensors])


def _variable(value, dtype, name):
  return tf.Variable(value, dtype=dtype, trainable=False, name=name)


class StepGuard:
  """The finite check, the conditional update and the dynamic loss scale.

  Args:
    on_nonfinite: "stop" (the first bad step stops the run at the next log) or
      "skip" (stop only after more than `max_skipped_steps` skips in a row).
    max_skipped_steps: see `on_nonfinite`.
    loss_scale: None (no scaling) or {"initial_scale", "growth_interval"}.
  """

  def __init__(self, on_nonfinite="stop", max_skipped_steps=0, loss_scale=None,
               replicated=False):
    self.dynamic = loss_scale is not None
    # Under a tf.distribute strategy the optimizer all-reduces its gradients
    # (a merge_call), which TF forbids inside tf.cond. So there the update always
    # runs and a bad step is undone afterwards, with every replica's verdict
    # all-reduced first so that all of them keep or undo the same step.
    self.replicated = replicated
    self.stop_at_first = on_nonfinite == "stop"
    self.max_skipped = max_skipped_steps
    settings = loss_scale or {}
    self.growth_interval = int(settings.get("growth_interval", 2000))
    self.scale = _variable(float(settings.get("initial_scale", 1.0)), tf.float32, "loss_scale")
    self.good_steps = _variable(0, tf.int64, "good_steps")
    self.skipped = _variable(0, tf.int64, "skipped_steps")
    # Not checkpointed: a resumed run starts a fresh streak and no stop record.
    self.in_a_row = _variable(0, tf.int64, "skipped_in_a_row")
    self.stop_step = _variable(0, tf.int64, "stop_step")  # 0: no stop wanted
    self.stop_what = _variable(0, tf.int32, "stop_what")
    self.stop_value = _variable(0.0, tf.float32, "stop_value")
    self._names = []  # the checked quantities, in order (set when tracing)

  def checkpointed(self):
    """The state a resumed run continues with: the scale and the counters."""
    return tf.train.Checkpoint(scale=self.scale, good_steps=self.good_steps,
                               skipped=self.skipped)

  # Inside the train step.

  def scale_loss(self, loss):
    return loss * self.scale if self.dynamic else loss

  def unscale(self, grads):
    if not self.dynamic:
      return grads
    inverse = 1.0 / self.scale  # exact for power-of-two scales (the default ones)
    return [g * tf.cast(inverse, g.dtype) for g in grads]

  def verdict(self, parts):
    """Checks [(metrics, d_grads, g_grads), ...]: (ok, losses_ok, first bad, value).

    Losses come before gradients, so a NaN loss is named, not its NaN gradient.
    """
    names, values, poison = [], [], []
    for metrics, d_grads, g_grads in parts:
      keys = sorted(metrics, key=lambda k: (not k.startswith("loss_"), k))
      names += keys + ["grad_norm_d", "grad_norm_g"]
      values += [tf.cast(metrics[k], tf.float32) for k in keys]
      poison += [_poison([metrics[k]]) for k in keys] + [_poison(d_grads), _poison(g_grads)]
      values += poison[-2:]  # a gradient is reported as nan
    self._names = names
    is_loss = tf.constant([0.0 if n.startswith("grad_norm_") else 1.0 for n in names])
    poison, values = tf.stack(poison), tf.stack(values)
    ok = tf.equal(tf.reduce_sum(poison), 0.0)  # nan != 0
    bad = tf.cast(tf.not_equal(poison, 0.0), tf.float32)
    first = tf.cast(tf.argmax(bad), tf.int32)
    losses_ok = tf.equal(tf.reduce_sum(bad * is_loss), 0.0)
    return self._agree(ok), self._agree(losses_ok), first, tf.gather(values, first)

  def _agree(self, flag):
    """`flag` and'ed over the replicas (itself on one device)."""
    if not self.replicated:
      return flag
    context = tf.distribute.get_replica_context()  # ReduceOp has no MIN: count the bad
    bad = context.all_reduce(tf.distribute.ReduceOp.SUM,
                             tf.cast(tf.logical_not(flag), tf.float32))
    return bad < 0.5

  def apply_if_finite(self, update, parts, step, forward_state=((), ())):
    """Runs `update()` only when every loss and gradient in `parts` is finite.

    `step` is the number of the step being taken (1 for the first). The forward
    pass already moved some state (BatchNorm's moving statistics): a skipped
    step puts `forward_state` = (variables, their `snapshot`) back. Returns ok.
    """
    ok, losses_ok, first, value = self.verdict(parts)
    if self.replicated:  # `forward_state` then covers every variable the step writes
      update()
      self.restore_unless(ok, *forward_state)
    else:
      tf.cond(ok, lambda: run(update), lambda: _put_back(*forward_state))
    self.record(ok, losses_ok, first, value, step)
    return ok

  def undo_unless_finite(self, parts, variables, saved, step):
    """For updates already applied (alternating): puts `saved` back into
    `variables` unless every loss and gradient in `parts` was finite. Returns ok."""
    ok, losses_ok, first, value = self.verdict(parts)
    self.restore_unless(ok, variables, saved)
    self.record(ok, losses_ok, first, value, step)
    return ok

  def restore_unless(self, ok, variables, saved):
    """Puts `saved` back into `variables` when `ok` is false (a skipped step)."""
    if self.replicated:  # no tf.cond around replicated writes (see __init__)
      for v, value in zip(variables, saved):
        v.assign(tf.where(ok, tf.convert_to_tensor(v), value))
    else:
      tf.cond(ok, lambda: tf.constant(True), lambda: _put_back(variables, saved))

  def record(self, ok, losses_ok, first, value, step):
    """Counts a skipped step, moves the scale, remembers why the run should stop."""
    skipped = tf.logical_not(ok)
    self.skipped.assign_add(tf.cast(skipped, tf.int64))
    in_a_row = tf.where(ok, tf.constant(0, tf.int64), self.in_a_row + 1)
    self.in_a_row.assign(in_a_row)
    if self.dynamic:
      self._move_scale(ok)
    # With a loss scale an overflow is routine (the scale drops); it alarms only
    # when the losses themselves are bad or the scale has nothing left to give.
    alarm = skipped
    if self.dynamic:
      alarm = tf.logical_not(losses_ok) | (skipped & (self.scale <= 1.0))
    stop = alarm if self.stop_at_first else in_a_row > self.max_skipped
    new = stop & tf.equal(self.stop_step, 0)
    self.stop_step.assign(tf.where(new, tf.cast(step, tf.int64), self.stop_step))
    self.stop_what.assign(tf.where(new, first, self.stop_what))
    self.stop_value.assign(tf.where(new, value, self.stop_value))

  def _move_scale(self, ok):
    good = tf.where(ok, self.good_steps + 1, tf.zeros_like(self.good_steps))
    grow = good >= self.growth_interval
    scale = tf.where(ok, tf.where(grow, tf.minimum(self.scale * 2.0, _MAX_SCALE), self.scale),
                     tf.maximum(self.scale * 0.5, 1.0))
    self.scale.assign(scale)
    self.good_steps.assign(tf.where(grow, tf.zeros_like(good), good))

  def metrics(self):
    out = {"skipped_steps": self.skipped.read_value()}
    if self.dynamic:
      out["loss_scale"] = self.scale.read_value()
    return out

  # On the host, at logging steps.

  def check(self):
    """Raises NonFiniteStop naming the quantity and the step, when one is recorded."""
    step = int(self.stop_step.numpy())
    if not step:
      return
    name = self._names[int(self.stop_what.numpy())] if self._names else "a loss"
    value = float(self.stop_value.numpy())
    text = f"{name} is {value} at step {step}"
    if not self.stop_at_first:
      text += f" (more than {self.max_skipped} skipped steps in a row)"
    raise NonFiniteStop(text)


def run(update):
  """Calls `update()` and returns True: a `tf.cond` branch needs a tensor."""
  update()
  return tf.constant(True)


def snapshot(variables):
  """The variables' current values, for `restore_unless` (TF copies a variable's
  buffer only when it is written while this read is alive)."""
  return [tf.identity(tf.convert_to_tensor(v)) for v in variables]


def _put_back(variables, saved):
  for v, value in zip(variables, saved):
    v.assign(value)
  return tf.constant(False)


def scaled_input_gradients(fn, x, scale):
  """`fn(x)` whose backward pass runs at `scale` times its size, unscaled at `x`.

  A gradient penalty differentiates D with respect to its input. Under a
  float16 policy that backward pass runs in float16, where small gradients
  underflow to zero; scaling it by the loss scale keeps them representable, and
  the input gradient comes back divided in float32 (the forward value is
  unchanged, and both ops are linear, so double backprop sees the same scale).
  """
  s = tf.convert_to_tensor(scale)

  @tf.custom_gradient
  def unscale_at_input(t):
    return tf.identity(t), lambda dy: dy / tf.cast(s, dy.dtype)

  @tf.custom_gradient
  def scale_at_output(t):
    return tf.identity(t), lambda dy: dy * tf.cast(s, dy.dtype)

  return scale_at_output(fn(unscale_at_input(x)))
