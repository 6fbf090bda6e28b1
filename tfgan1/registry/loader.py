"""Finds plugins: built-ins and third-party packages through the entry-point group
`tfgan1.plugins`, a user's own through module paths or `.py` files.

Importing a plugin module is what registers it (its decorators run). The core
never imports a plugin by name; this module only follows entry points and paths.
"""
import importlib
import importlib.metadata
import importlib.util
import os
import sys

from tfgan1 import tfimport
from tfgan1.errors import UserError, describe, shown_path

ENTRY_POINT_GROUP = "tfgan1.plugins"
_loaded = set()


def _import_error(what, source, err):
  return UserError(f"{what}: cannot load plugin {source!r}: {describe(err)}")


def load_entry_points():
  """Imports every module registered under the `tfgan1.plugins` entry points."""
  if "entry_points" in _loaded:
    return
  tfimport.tensorflow()  # plugins import TF; keep its start-up chatter quiet
  eps = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
  if not eps:
    raise UserError("plugins: no 'tfgan1.plugins' entry points found; is tfgan1 "
                    "installed? run: pip install -e .")
  for ep in sorted(eps, key=lambda e: e.name):
    try:
      ep.load()
    except KeyError as e:  # a duplicate registry key
      raise UserError(f"plugins: entry point {ep.value!r}: {e.args[0]}") from None
  _loaded.add("entry_points")


def _module_name_for_file(path):
  stem = os.path.splitext(os.path.basename(path))[0]
  safe = "".join(c if c.isalnum() else "_" for c in stem)
  return f"tfgan1_user_plugin_{safe}_{abs(hash(os.path.abspath(path))) % 10**8}"


def load_user_plugin(source, what="plugins"):
  """Imports `source`: a dotted module path or a `.py` file path."""
  key = os.path.abspath(source) if source.endswith(".py") else source
  if key in _loaded:
    return
  tfimport.tensorflow()
  try:
    if source.endswith(".py") or os.sep in source:
      if not os.path.isfile(source):
        raise UserError(f"{what}: plugin file {shown_path(source)} does not exist")
      name = _module_name_for_file(source)
      spec = importlib.util.spec_from_file_location(name, source)
      module = importlib.util.module_from_spec(spec)
      sys.modules[name] = module
      spec.loader.exec_module(module)
    else:
      importlib.import_module(source)
  except UserError:
    raise
  except KeyError as e:  # a duplicate registry key
    raise UserError(f"{what}: plugin {source!r}: {e.args[0]}") from None
  except Exception as e:  # any import-time failure of user code is user input
    raise _import_error(what, source, e) from None
  _loaded.add(key)


def load_all(config_plugins=(), flag_plugins=()):
  """Built-ins first, then the config's `plugins:` list, then `--plugin` flags."""
  load_entry_points()
  for source in config_plugins:
    load_user_plugin(source, "plugins")
  for source in flag_plugins:
    load_user_plugin(source, "--plugin")
