"""YAML reading with floats as people write them (`2e-4`), and scalar parsing for --set."""
import collections.abc
import re

import yaml

from tfgan1.errors import UserError, shown_path


class _Loader(yaml.SafeLoader):
  """PyYAML follows YAML 1.1, where `2e-4` is a string; users mean a float.

  It also keeps the last of two equal keys silently (`{name: tfds, name: x}`);
  here a repeated key is an error.
  """

  def construct_mapping(self, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
      key = self.construct_object(key_node, deep=deep)
      if not isinstance(key, collections.abc.Hashable):
        raise UserError(f"key {key!r} (line {key_node.start_mark.line + 1}) is not "
                        "allowed; keys must be strings")
      if key in seen:
        mark = key_node.start_mark
        raise UserError(f"key {key!r} appears twice in one mapping "
                        f"(line {mark.line + 1}); keep one")
      seen.add(key)
    return super().construct_mapping(node, deep=deep)


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                   |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                   |\.[0-9_]+(?:[eE][-+][0-9]+)?
                   |[-+]?\.(?:inf|Inf|INF)
                   |\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."))


def load_file(path):
  """Parses a YAML file into Python objects; a bad file is a one-line UserError."""
  try:
    with open(path, encoding="utf-8") as f:
      return yaml.load(f, Loader=_Loader)
  except UserError as e:
    raise UserError(f"--config: {path!r}: {e}") from None
  except FileNotFoundError:
    raise UserError(f"--config: file {shown_path(path)} does not exist") from None
  except IsADirectoryError:
    raise UserError(f"--config: {path!r} is a directory, not a YAML file") from None
  except UnicodeDecodeError as e:
    raise UserError(f"--config: {path!r} is not UTF-8 text (byte {e.object[e.start]:#04x} "
                    f"at offset {e.start}); save it as UTF-8") from None
  except RecursionError:
    raise UserError(f"--config: {path!r} is nested too deeply to read") from None
  except OSError as e:
    raise UserError(f"--config: {path!r} cannot be read ({e.strerror})") from None
  except yaml.YAMLError as e:
    mark = getattr(e, "problem_mark", None)
    where = f" at line {mark.line + 1}" if mark else ""
    problem = getattr(e, "problem", None) or str(e).splitlines()[0]
    raise UserError(f"--config: {path!r} is not valid YAML{where}: {problem}") from None


def parse_scalar(text):
  """Parses one --set value the way YAML would parse it in a file."""
  try:
    return yaml.load(text, Loader=_Loader)
  except UserError as e:
    raise UserError(f"--set: {text!r}: {e}") from None
  except (yaml.YAMLError, RecursionError):
    return text


def dump(data):
  return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)


def roundtrip(data):
  """`data` as it reads back after `dump` (tuples become lists, floats stay floats)."""
  return yaml.load(dump(data), Loader=_Loader)
