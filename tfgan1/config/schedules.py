"""Learning-rate schedules: `learning_rate: 2e-4` or `{schedule: ..., ...}`.

    learning_rate: {schedule: cosine, value: 2.0e-4, decay_steps: 10000, warmup_steps: 500}

A schedule is a `keras.optimizers.schedules` object read at the optimizer's own
iteration count, divided by the optimizer's updates per training step (`n_d` for
D's with the alternating rule), so `decay_steps` and the other step keys count
training steps, as `train.steps` does. The counter is in every checkpoint, so a
resumed run continues the schedule where it stopped. This module checks the YAML
at load (no TensorFlow); `tfgan1.engine.schedules` builds the Keras schedule.
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
