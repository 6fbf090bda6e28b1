"""One loss scale and one finite check per train step, for every update rule.

`StepGuard` is what makes an update conditional. Every rule hands it the step's
losses and gradients; on device it decides whether the step is finite
(`verdict`), applies the update only then (`apply`: chosen once for one device
or a replicated strategy), moves the dynamic loss scale (`loss_scale`) and
counts skipped steps (`monitor`), so the host reads nothing until a logging step.

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
from tfgan1.engine.guard import apply as apply_lib
from tfgan1.engine.guard.loss_scale import DynamicScale
from tfgan1.engine.guard.monitor import SkipMonitor
from tfgan1.engine.guard.verdict import verdict

tf = tfimport.tensorflow()
snapshot = apply_lib.snapshot


class StepGuard:
  """The finite check, the conditional update and the dynamic loss scale of a step.

  Args:
    on_nonfinite, max_skipped_steps: see `SkipMonitor`.
    loss_scale: None (no scaling) or {"initial_scale", "growth_interval"}.
    replicated: True under a tf.distribute strategy (see `apply`).
  """

  def __init__(self, on_nonfinite="stop", max_skipped_steps=0, loss_scale=None,
               replicated=False):
    self.scaler = DynamicScale(loss_scale)
    self.monitor = SkipMonitor(on_nonfinite, max_skipped_steps)
    self.conditional = apply_lib.Replicated() if replicated else apply_lib.OneDevice()

  @property
  def dynamic(self):
    return self.scaler.dynamic

  @property
  def replicated(self):
    return self.conditional.replicated

  def checkpointed(self):
    """The state a resumed run continues with: the scale and the counters."""
    return tf.train.Checkpoint(scale=self.scaler.scale, good_steps=self.scaler.good_steps,
                               skipped=self.monitor.skipped)

  # Inside the train step.

  def scale_loss(self, loss):
    return self.scaler.scale_loss(loss)

  def unscale(self, grads):
    return self.scaler.unscale(grads)

  def apply_if_finite(self, update, parts, step, forward_state=((), ())):
    """Runs `update()` only when every loss and gradient in `parts` is finite.

    `parts` is [(metrics, d_grads, g_grads), ...]; `step` the number of the step
    being taken (1 for the first). The forward pass already moved some state
    (BatchNorm's moving statistics): a skipped step puts `forward_state` =
    (variables, their `snapshot`) back. Returns ok.
    """
    v = verdict(parts, self.conditional.agree)
    self.conditional.apply_if(v.ok, update, forward_state)
    self._record(v, step)
    return v.ok

  def undo_unless_finite(self, parts, variables, saved, step):
    """For updates already applied (alternating): puts `saved` back into
    `variables` unless every loss and gradient in `parts` was finite. Returns ok."""
    v = verdict(parts, self.conditional.agree)
    self.conditional.restore_unless(v.ok, variables, saved)
    self._record(v, step)
    return v.ok

  def _record(self, v, step):
    self.scaler.adjust(v.ok)
    # With a loss scale an overflow is routine (the scale drops); it alarms only
    # when the losses themselves are bad or the scale has nothing left to give.
    alarm = tf.logical_not(v.ok)
    if self.dynamic:
      alarm = tf.logical_not(v.losses_ok) | (alarm & self.scaler.exhausted())
    self.monitor.record(v, step, alarm)

  def after_update(self, ok, fn):
    """`fn()` (the EMA's update) only after a kept step."""
    self.conditional.after_update(ok, fn)

  def metrics(self):
    out = {"skipped_steps": self.monitor.skipped.read_value()}
    if self.dynamic:
      out["loss_scale"] = self.scaler.scale.read_value()
    return out

  # On the host, at logging steps.

  def check(self):
    """Raises NonFiniteStop naming the quantity and the step, when one is recorded."""
    self.monitor.check()
