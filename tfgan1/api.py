"""The Python way in: what `python -m tfgan1.run` does, callable from a notebook.

`load_config` accepts what a user has at hand (a YAML path, a dict in the YAML
layout, or a `Config`) and applies the same checks as the CLI; a bad value is
the same one-line `UserError`. `train_and_evaluate` loads the built-in and
entry-point plugins itself and logs progress as the CLI does. This module
imports no TensorFlow until a run starts, so `import tfgan1` stays light.
"""
import copy
import dataclasses
import os
from collections.abc import Mapping

from tfgan1 import config as config_lib
from tfgan1.config import paths
from tfgan1.registry import loader as plugin_loader
from tfgan1.errors import UserError


def load_config(config, overrides=()):
  """Returns a checked, frozen `Config`.

  Args:
    config: a YAML file path (str or os.PathLike), a dict in the YAML layout
      (`{"data": {"name": ...}, "train": {"steps": 100}, ...}`), or a `Config`.
    overrides: `"a.b=value"` strings, applied as the CLI's `--set`.

  Returns:
    The `tfgan1.config.Config`, defaults filled in.

  Raises:
    UserError: one line naming the bad key, its value and what is allowed.
  """
  try:
    return _load_config(config, overrides)
  except UserError as e:
    message = str(e)
    if message.startswith("--config: "):  # no such flag here: the argument is `config`
      raise UserError("config: " + message[len("--config: "):]) from None
    raise


def _load_config(config, overrides):
  overrides = (overrides,) if isinstance(overrides, str) else tuple(overrides)
  if isinstance(config, config_lib.Config):
    if not overrides:
      return config
    config = config_lib.to_dict(config)
  if isinstance(config, Mapping):
    return config_lib.from_dict(copy.deepcopy(dict(config)), overrides)
  if isinstance(config, (str, os.PathLike)):
    return config_lib.load(os.fspath(config), overrides)
  raise UserError(f"config: a {type(config).__name__} is not allowed; expected a YAML "
                  "file path, a dict in the YAML layout or a tfgan1 Config")


def load_plugins(*plugins):
  """Loads the built-in and entry-point plugins, then `plugins` (module paths or
  `.py` files), so the registries (`tfgan1.DATASETS`, ...) hold them.

  Runs load them by themselves; call this to use the registries directly.
  """
  plugin_loader.load_all((), plugins)


def with_plugins(config, plugins=()):
  """Loads the built-in, entry-point, config and extra plugins; returns the config.

  Extra `plugins` (module paths or `.py` files, as `--plugin`) are added to the
  config's `plugins` list, so the saved config.yaml names them for resumes and
  tools.
  """
  plugins = tuple(plugins)
  plugin_loader.load_all(config.plugins, plugins)
  extra = tuple(paths.plugin_files(plugins, os.getcwd()))
  return dataclasses.replace(
      config, plugins=tuple(dict.fromkeys(config.plugins + extra)))


def train_and_evaluate(config, workdir, plugins=(), profile_steps=None,
                       allow_config_change=False, isolated=False):
  """Trains a config in `workdir`, resuming from its latest checkpoint if any.

  Exactly what `python -m tfgan1.run --config ... --workdir ...` runs: same
  checks, same files, same console lines (a banner, progress lines, a summary)
  and a `train.log` in the workdir.

  Args:
    config: a YAML path, a dict in the YAML layout or a `Config`.
    workdir: the run folder (created if missing).
    plugins: extra plugin modules or `.py` files, as `--plugin`.
    profile_steps: optional `(first, last)` steps to trace with the TensorBoard
      profiler, as `--profile_steps first,last`.
    isolated: run in a child process (`python -m tfgan1.run`) that returns all
      its memory when it ends: for many runs in one process (a sweep, a
      notebook), where TensorFlow keeps some memory per run (see `tools/soak.py`).
      Same files, lines, return value and exceptions.

  Returns:
    The final evaluation record: a dict with `step` and the dataset's metrics
    (also the last line of `metrics.jsonl`).

  Raises:
    UserError: bad config, plugin, path, data or checkpoint; nothing saved is lost.
  """
  config = with_plugins(load_config(config), plugins)
  if isolated:
    from tfgan1 import isolated as isolated_lib  # pylint: disable=g-import-not-at-top
    return isolated_lib.train_and_evaluate(config, workdir, allow_config_change, profile_steps)
  from tfgan1.runner import train  # pylint: disable=g-import-not-at-top  (imports TF)
  return train.train_and_evaluate(config, os.fspath(workdir), allow_config_change,
                                  profile_steps)
