"""Learning-rate schedules: `learning_rate: 2e-4` or `{schedule: ..., ...}`.

    learning_rate: {schedule: cosine, value: 2.0e-4, decay_steps: 10000, warmup_steps: 500}

A schedule is a `keras.optimizers.schedules` object read at the optimizer's own
iteration count, divided by the optimizer's updates per training step (`n_d` for
D's with the alternating rule), so `decay_steps` and the other step keys count
training steps, as `train.steps` does. The counter is in every checkpoint, so a
resumed run continues the schedule where it stopped. `parse` checks the YAML at
load (no TensorFlow); `make` builds the Keras schedule.
"""
import math
import types

from tfgan1.errors import UserError

_COMMON = {"schedule": None, "value": None, "warmup_steps": 0}
# Each schedule's own keys and their defaults (None: required).
_KEYS = {
    "constant": {},
    "linear": {"decay_steps": None, "end_value": 0.0},
    "cosine": {"decay_steps": None, "alpha": 0.0},
    "exponential": {"decay_steps": None, "decay_rate": None, "staircase": False},
    "step": {"boundaries": None, "factor": 0.1},
}
_INTS = ("warmup_steps", "decay_steps")


def _number(value, key, positive=False):
  if isinstance(value, bool) or not isinstance(value, (int, float)):
    raise UserError(f"{key}: {value!r} is not allowed; expected a number")
  value = float(value)
  if not math.isfinite(value):
    raise UserError(f"{key}: {value!r} is not allowed; expected a finite number")
  if positive and not value > 0:
    raise UserError(f"{key}: {value!r} is not allowed; must be > 0.0")
  return value


def _check_entry(path, key, value):
  """One schedule argument, converted; a bad one names its dotted key."""
  where = f"{path}.{key}"
  if key in _INTS:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
      raise UserError(f"{where}: {value!r} is not allowed; expected an integer >= 0")
    if key == "decay_steps" and value < 1:
      raise UserError(f"{where}: {value!r} is not allowed; must be >= 1")
    return value
  if key == "staircase":
    if not isinstance(value, bool):
      raise UserError(f"{where}: {value!r} is not allowed; expected true or false")
    return value
  if key == "boundaries":
    ok = (isinstance(value, list) and value and
          all(isinstance(b, int) and not isinstance(b, bool) for b in value) and
          value[0] > 0 and all(a < b for a, b in zip(value, value[1:])))
    if not ok:
      raise UserError(f"{where}: {value!r} is not allowed; expected a list of "
                      "increasing positive step counts, e.g. [5000, 8000]")
    return list(value)
  return _number(value, where, positive=key in ("value", "decay_rate"))


def parse(value, path):
  """A learning rate from YAML: a positive float, or a checked schedule mapping."""
  if not isinstance(value, dict):
    return _number(value, path, positive=True)
  name = value.get("schedule")
  if name not in _KEYS:
    raise UserError(f"{path}.schedule: {name!r} is not allowed; choose one of: "
                    f"{', '.join(sorted(_KEYS))}")
  allowed = {**_COMMON, **_KEYS[name]}
  for key in value:
    if key not in allowed:
      raise UserError(f"{path}.{key}: unknown key for schedule {name!r}; "
                      f"allowed: {', '.join(sorted(allowed))}")
  out = {"schedule": name}
  for key, default in allowed.items():
    if key == "schedule":
      continue
    if key not in value and default is None:
      raise UserError(f"{path}.{key}: missing; schedule {name!r} requires it")
    out[key] = _check_entry(path, key, value.get(key, default))
  return types.MappingProxyType(out)


def make(learning_rate, updates_per_step=1):
  """A float, or a Keras LearningRateSchedule for a parsed schedule mapping.

  `updates_per_step`: how many times the optimizer updates in one training step
  (`n_d` for D's with the alternating rule). Its schedule then reads
  iterations // updates_per_step: every update of a step gets the same rate, and
  a 5000-step decay ends at training step 5000, not at step 1000 for an n_d of 5.
  """
  if not hasattr(learning_rate, "keys"):
    return learning_rate
  import keras  # pylint: disable=g-import-not-at-top  (config parsing needs no TF)
  schedule = _keras_schedule(keras, learning_rate)
  if updates_per_step == 1:
    return schedule
  return _per_step_class(keras)(schedule, updates_per_step)


def _keras_schedule(keras, learning_rate):
  """The Keras schedule of a parsed mapping, read at its own step."""
  s = dict(learning_rate)
  kinds = keras.optimizers.schedules
  value = s["value"]
  after = {
      "constant": lambda: kinds.PiecewiseConstantDecay([1], [value, value]),
      "linear": lambda: kinds.PolynomialDecay(value, s["decay_steps"], s["end_value"]),
      "cosine": lambda: kinds.CosineDecay(value, s["decay_steps"], s["alpha"]),
      "exponential": lambda: kinds.ExponentialDecay(
          value, s["decay_steps"], s["decay_rate"], s["staircase"]),
      "step": lambda: kinds.PiecewiseConstantDecay(
          s["boundaries"], [value * s["factor"] ** i for i in range(len(s["boundaries"]) + 1)]),
  }[s["schedule"]]()
  if s["warmup_steps"] == 0:
    return after
  return _warmup_class(keras)(after, value, s["warmup_steps"])


def _warmup_class(keras):
  """Built on first use so that this module imports without Keras."""

  class Warmup(keras.optimizers.schedules.LearningRateSchedule):
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
      return {"after": keras.optimizers.schedules.serialize(self.after),
              "value": self.value, "steps": self.steps}

  return Warmup


def _per_step_class(keras):
  """Built on first use, as `Warmup` is."""

  class PerStep(keras.optimizers.schedules.LearningRateSchedule):
    """`inner` read at training steps: the update count // `updates` per step."""

    def __init__(self, inner, updates):
      super().__init__()
      self.inner, self.updates = inner, updates

    def __call__(self, step):
      return self.inner(keras.ops.floor_divide(step, self.updates))

    def get_config(self):
      return {"inner": keras.optimizers.schedules.serialize(self.inner),
              "updates": self.updates}

  return PerStep


def current_rates(optimizers):
  """{"lr": ...} for one shared optimizer, else {"lr_d": ..., "lr_g": ...}."""
  from tfgan1 import tfimport  # pylint: disable=g-import-not-at-top
  tf = tfimport.tensorflow()

  def rate(opt):
    return tf.cast(tf.convert_to_tensor(opt.learning_rate), tf.float32)
  if "shared" in optimizers:
    return {"lr": rate(optimizers["shared"])}
  return {f"lr_{role}": rate(opt) for role, opt in optimizers.items()}
