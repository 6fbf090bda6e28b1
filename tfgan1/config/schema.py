"""Checks parsed YAML against the Config dataclasses, field by field.

Everything here raises `UserError` with one line: the dotted key, the bad value
and what is allowed. Dataclasses with a `kwargs` field are "open": their other
fields are checked and the remaining keys go to `kwargs` for a plugin.
"""
import dataclasses
import difflib
import math
import types
import typing

from tfgan1.errors import UserError

_TYPE_WORDS = {int: "an integer", float: "a number", bool: "true or false",
               str: "a string"}
INT64 = (-2**63, 2**63 - 1)  # TF steps, seeds and sizes are int64 at most
MAX_DEPTH = 32  # no config needs more; YAML itself recurses per level
MAX_NODES = 100_000  # a small YAML file with aliases can expand to billions


def _join(path, key):
  return f"{path}.{key}" if path else str(key)


def _short(value):
  text = repr(value)
  return text if len(text) <= 60 else text[:57] + "..."


def _bad(path, value, allowed):
  return UserError(f"{path}: {_short(value)} is not allowed; {allowed}")


def _check_scalar(tp, value, path):
  if tp is float and isinstance(value, int) and not isinstance(value, bool):
    value = float(value)
  ok = isinstance(value, tp) and not (tp is int and isinstance(value, bool))
  if not ok:
    raise _bad(path, value, f"expected {_TYPE_WORDS[tp]}")
  if tp is float and not math.isfinite(value):
    raise _bad(path, value, "expected a finite number")
  return value


def _check_range(meta, value, path):
  if "choices" in meta and value not in meta["choices"]:
    raise _bad(path, value, "choose one of: " + ", ".join(sorted(meta["choices"])))
  if "min" in meta and value < meta["min"]:
    raise _bad(path, value, f"must be >= {meta['min']}")
  if "max" in meta and value > meta["max"]:
    raise _bad(path, value, f"must be <= {meta['max']}")
  if "gt" in meta and value <= meta["gt"]:
    raise _bad(path, value, f"must be > {meta['gt']}")
  if "lt" in meta and value >= meta["lt"]:
    raise _bad(path, value, f"must be < {meta['lt']}")


def check_number(value, path):
  """The range every number in a config must have, plugin kwargs included:
  integers within int64, floats finite."""
  if isinstance(value, bool):
    return
  if isinstance(value, int) and not INT64[0] <= value <= INT64[1]:
    raise _bad(path, value, "integers must fit in 64 bits (|n| < 2**63)")
  if isinstance(value, float) and not math.isfinite(value):
    raise _bad(path, value, "expected a finite number")


def check_tree(raw):
  """Checks parsed YAML before any schema: string keys, bounded nesting and
  size, and `check_number` on every number, wherever it sits."""
  count = 0
  stack = [(raw, "config", 0)]
  while stack:
    node, path, depth = stack.pop()
    count += 1
    if count > MAX_NODES:
      raise UserError(f"config: more than {MAX_NODES} values (YAML aliases that "
                      "expand?); a run config is a few dozen")
    if depth > MAX_DEPTH:
      raise UserError(f"{path}: nested deeper than {MAX_DEPTH} levels; a run config "
                      "needs a few")
    if isinstance(node, dict):
      for key, value in node.items():
        if not isinstance(key, str):
          raise UserError(f"{path}: key {_short(key)} ({type(key).__name__}) is not "
                          "allowed; keys must be strings")
        stack.append((value, key if path == "config" else f"{path}.{key}", depth + 1))
    elif isinstance(node, list):
      stack.extend((v, f"{path}[{i}]", depth + 1) for i, v in enumerate(node))
    else:
      check_number(node, path)


def check_value(tp, value, path, meta=None):
  """Returns `value` converted to type `tp`, or raises a one-line UserError."""
  meta = meta or {}
  if "parse" in meta:  # a field with its own parser (a learning-rate schedule)
    return meta["parse"](value, path)
  origin = typing.get_origin(tp)
  if origin is typing.Union:  # Optional[X]
    if value is None:
      return None
    (inner,) = [a for a in typing.get_args(tp) if a is not type(None)]
    return check_value(inner, value, path, meta)
  if origin is tuple:
    inner = typing.get_args(tp)[0]
    if not isinstance(value, list):
      value = [value] if value is not None else []
    return tuple(check_value(inner, v, f"{path}[{i}]") for i, v in enumerate(value))
  if tp is typing.Any:
    return value
  if origin is not None and issubclass(origin, typing.Mapping):
    if not isinstance(value, dict):
      raise _bad(path, value, "expected a mapping of keys")
    return types.MappingProxyType(dict(value))
  if dataclasses.is_dataclass(tp):
    return build(tp, value, path)
  value = _check_scalar(tp, value, path)
  _check_range(meta, value, path)
  return value


def _unknown_key(path, key, allowed):
  close = difflib.get_close_matches(str(key), allowed, n=1)
  hint = f"did you mean {close[0]!r}? " if close else ""
  return UserError(f"{_join(path, key)}: unknown key; {hint}"
                   f"allowed: {', '.join(sorted(allowed))}")


def build(cls, raw, path):
  """Builds dataclass `cls` from mapping `raw`; `path` is its dotted config key."""
  fields = {f.metadata.get("key", f.name): f for f in dataclasses.fields(cls)}
  is_open = "kwargs" in fields
  if is_open:
    fields.pop("kwargs")
    if isinstance(raw, str) and "name" in fields:  # `loss: hinge` short form
      raw = {"name": raw}
  if not isinstance(raw, dict):
    raise _bad(path or "config", raw, "expected a mapping of keys")
  hints = typing.get_type_hints(cls)
  values, extra = {}, {}
  for key, value in raw.items():
    if key not in fields:
      if not is_open:
        raise _unknown_key(path, key, list(fields))
      extra[key] = value
      continue
    f = fields[key]
    values[f.name] = check_value(hints[f.name], value, _join(path, key), f.metadata)
  for key, f in fields.items():
    required = (f.default is dataclasses.MISSING and
                f.default_factory is dataclasses.MISSING)
    if required and f.name not in values:
      what = "a section {name: ..., ...}" if dataclasses.is_dataclass(hints[f.name]) else "a value"
      raise UserError(f"{_join(path, key)}: missing; required: {what}")
  if is_open:
    values["kwargs"] = types.MappingProxyType(extra)
  return cls(**values)


def set_override(raw, item, parse):
  """Applies one `a.b=v` override to the nested dict `raw` (a copy is returned)."""
  if "=" not in item:
    raise UserError(f"--set: {item!r} is not allowed; expected key.path=value")
  dotted, text = item.split("=", 1)
  keys = dotted.strip().split(".")
  if not all(keys):
    raise UserError(f"--set: {item!r} is not allowed; expected key.path=value")
  out = dict(raw)
  node = out
  for i, key in enumerate(keys[:-1]):
    child = node.get(key)
    if isinstance(child, str):
      child = {"name": child}  # a plugin given in short form, `loss: hinge`
    if child is None:
      child = {}
    if not isinstance(child, dict):
      raise UserError(f"--set: {'.'.join(keys[:i + 1])} is {_short(child)}, "
                      f"not a section; cannot set {dotted}")
    node[key] = dict(child)
    node = node[key]
  node[keys[-1]] = parse(text)
  return out
