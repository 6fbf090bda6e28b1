"""The Keras side of learning-rate schedules: a parsed `{schedule: ...}` mapping
(`tfgan1.config.schedules`) as a `keras.optimizers.schedules` object, read at
the optimizer's own (checkpointed) iteration count."""
from tfgan1 import tfimport

keras = tfimport.keras()

_kinds = keras.optimizers.schedules


def make(learning_rate, updates_per_step=1):
  """A float, or a Keras LearningRateSchedule for a parsed schedule mapping.

  `updates_per_step`: how many times the optimizer updates in one training step
  (`n_d` for D's with the alternating rule). Its schedule then reads
  iterations // updates_per_step: every update of a step gets the same rate, and
  a 5000-step decay ends at training step 5000, not at step 1000 for an n_d of 5.
  """
  if not hasattr(learning_rate, "keys"):
    return learning_rate
  schedule = _keras_schedule(learning_rate)
  if updates_per_step == 1:
    return schedule
  return PerStep(schedule, updates_per_step)


def _keras_schedule(learning_rate):
  """The Keras schedule of a parsed mapping, read at its own step."""
  s = dict(learning_rate)
  value = s["value"]
  after = {
      "constant": lambda: _kinds.PiecewiseConstantDecay([1], [value, value]),
      "linear": lambda: _kinds.PolynomialDecay(value, s["decay_steps"], s["end_value"]),
      "cosine": lambda: _kinds.CosineDecay(value, s["decay_steps"], s["alpha"]),
      "exponential": lambda: _kinds.ExponentialDecay(
          value, s["decay_steps"], s["decay_rate"], s["staircase"]),
      "step": lambda: _kinds.PiecewiseConstantDecay(
          s["boundaries"], [value * s["factor"] ** i for i in range(len(s["boundaries"]) + 1)]),
  }[s["schedule"]]()
  if s["warmup_steps"] == 0:
    return after
  return Warmup(after, value, s["warmup_steps"])


class Warmup(_kinds.LearningRateSchedule):
  """Linear warmup to `value` over `steps` updates, then `after` from its step 0."""

  def __init__(self, after, value, steps):
    super().__init__()
    self.after, self.value, self.steps = after, value, steps

  def __call__(self, step):
    ops = keras.ops
    step = ops.cast(step, "float32")
    warm = self.value * (step + 1.0) / self.steps
    return ops.where(step < self.steps, warm,
                     self.after(ops.maximum(step - self.steps, 0.0)))

  def get_config(self):
    return {"after": _kinds.serialize(self.after), "value": self.value, "steps": self.steps}


class PerStep(_kinds.LearningRateSchedule):
  """`inner` read at training steps: the update count // `updates` per step."""

  def __init__(self, inner, updates):
    super().__init__()
    self.inner, self.updates = inner, updates

  def __call__(self, step):
    return self.inner(keras.ops.floor_divide(step, self.updates))

  def get_config(self):
    return {"inner": _kinds.serialize(self.inner), "updates": self.updates}
