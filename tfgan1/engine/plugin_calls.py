"""Calls a plugin with the config's keyword arguments; whatever does not fit, or
fails inside the plugin, is one line naming the config section."""
import inspect

from tfgan1 import tfimport
from tfgan1.errors import UserError, describe

tf = tfimport.tensorflow()


def _accepted(fn, skip):
  params = inspect.signature(fn).parameters
  return [p for p in params if p not in skip and p != "self"
          and params[p].kind not in (inspect.Parameter.VAR_POSITIONAL,
                                     inspect.Parameter.VAR_KEYWORD)]


def construct(field, name, fn, args, kwargs, skip=()):
  """Calls a plugin with the config's kwargs, as a one-line error if they don't fit."""
  try:
    inspect.signature(fn).bind(*args, **kwargs)
  except TypeError as e:
    accepted = ", ".join(_accepted(fn, skip)) or "(none)"
    raise UserError(f"{field}: {name!r} does not take these arguments ({e}); "
                    f"accepted: {accepted}") from None
  try:
    return fn(*args, **kwargs)
  except UserError:
    raise
  except (ValueError, TypeError, tf.errors.InvalidArgumentError) as e:
    raise UserError(f"{field}: {name!r} rejected its arguments: {describe(e)}") from None
  except ALLOCATION_ERRORS as e:
    raise too_big(field, name, e) from None


# What TF, numpy and Python raise when a size from the config cannot be allocated.
ALLOCATION_ERRORS = (MemoryError, OverflowError, tf.errors.ResourceExhaustedError)


def too_big(field, name, err):
  return UserError(f"{field}: {name!r} cannot be allocated with these sizes "
                   f"(noise.dim, train.batch_size, layer widths): {describe(err)}")


def call(reg, spec, field, *args, method=None, skip=(), given=None):
  """`given`: keyword arguments the run sets for a builder that declares them
  (never the user: the config section may not name them)."""
  obj = reg.get(spec.name, f"{field}.name")
  fn = getattr(obj, method) if method else obj
  kwargs = dict(spec.kwargs)
  for key, (value, source) in (given or {}).items():
    if key in kwargs:
      raise UserError(f"{field}.{key}: {kwargs[key]!r} is not allowed; it is set from "
                      f"{source} ({value!r})")
    if key in inspect.signature(fn).parameters:
      kwargs[key] = value
  return construct(field, spec.name, fn, args, kwargs, skip + tuple(given or ()))
