"""Where a relative path in a config points.

A path written in a config file is read against that file's folder, so a config
runs the same from any current directory; a path given on the command line
(`--set data.path=...`) or in a Python dict is read against the current
directory, as a shell user expects. Both become absolute at load, so the saved
`config.yaml` of a run, and a resume's comparison with it, name the same file
from anywhere. `~` is expanded; URLs (`gs://...`) are left as they are.

A key holds a path when its name is in `PATH_KEYS` or ends in one of
`PATH_SUFFIXES` (a plugin's own options follow the same rule); entries of the
top-level `plugins` list that name a `.py` file are paths too.
"""
import os

PATH_KEYS = frozenset({"path", "data_dir", "graph", "reference_stats", "classifier"})
PATH_SUFFIXES = ("_path", "_dir", "_file")


def is_path_key(key):
  return isinstance(key, str) and (key in PATH_KEYS or key.endswith(PATH_SUFFIXES))


def absolute(value, base):
  """`value` made absolute against the folder `base`; non-paths unchanged."""
  if not isinstance(value, str) or not value or "://" in value:
    return value
  value = os.path.expanduser(value)
  if os.path.isabs(value):
    return os.path.normpath(value)
  return os.path.normpath(os.path.join(base, value))


def resolve(raw, base):
  """A copy of the raw config mapping with every relative path made absolute."""
  if not isinstance(raw, dict):
    return raw
  base = os.path.abspath(base)
  out = _walk(raw, base)
  if isinstance(out.get("plugins"), (list, tuple)):
    out["plugins"] = plugin_files(out["plugins"], base)
  return out


def plugin_files(plugins, base):
  """Plugin entries with each `.py` file made absolute; module names unchanged."""
  return [absolute(p, base) if isinstance(p, str) and p.endswith(".py") else p
          for p in plugins]


def _walk(node, base):
  if isinstance(node, dict):
    return {k: absolute(v, base) if is_path_key(k) else _walk(v, base)
            for k, v in node.items()}
  if isinstance(node, (list, tuple)):
    return [_walk(v, base) for v in node]
  return node
