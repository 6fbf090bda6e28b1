"""Resume must not rewrite a run's history.

The saved `config.yaml` records what trained the saved weights. A rerun on the
same workdir compares its resolved config with it: keys that do not change what
is trained (`HARMLESS_KEYS`) may differ and are logged in one line; any other
difference refuses, unless the user allows it, and then the old config is kept
as `config.<step>.yaml`. A finished run is not run again.
"""
import json
import os
import re
import shutil

from absl import logging

from tfgan1 import config as config_lib
from tfgan1.config import paths
from tfgan1.config import yamlio
from tfgan1.errors import UserError

CONFIG_FILE = "config.yaml"
# Config keys (and sections, by prefix) that may change on resume: how long,
# how often to log, sample, save and evaluate, and where it runs. Other helpers'
# keys of that kind go here, in this one place.
HARMLESS_KEYS = (
    "train.steps", "train.log_every", "train.sample_every", "train.checkpoint_every",
    "train.keep_checkpoints", "train.histogram_every", "train.jit_compile",
    "train.steps_per_call",
    "train.on_nonfinite", "train.max_skipped_steps", "eval", "distribute")


def flatten(tree, prefix=""):
  """{dotted key: leaf value} of nested dicts and lists (`penalties[0].weight`)."""
  if isinstance(tree, dict):
    items = [(f"{prefix}.{k}" if prefix else str(k), v) for k, v in tree.items()]
  elif isinstance(tree, (list, tuple)):
    items = [(f"{prefix}[{i}]", v) for i, v in enumerate(tree)]
  else:
    return {prefix: tree}
  out = {}
  for key, value in items:
    out.update(flatten(value, key))
  return out


def is_harmless(key):
  return any(key == h or key.startswith((h + ".", h + "[")) for h in HARMLESS_KEYS)


def _defaults():
  """{dotted key: default value} of every key with a default, the keys of the
  optional `ema` section included (a run saved before `ema.bn_batches` existed)."""
  stub = {k: "_" for k in ("generator", "discriminator", "loss", "data")}
  stub["ema"] = {}
  return flatten(yamlio.roundtrip(config_lib.to_dict(config_lib.from_dict(stub))))


def _new_key_at_default(key, old, new, defaults):
  """A key the saved config lacks (a newer tfgan1 added it) left at its default."""
  return old == "missing" and key in defaults and defaults[key] == new


def differences(old, new):
  """{key: (old value, new value)} over every leaf that differs ("missing" if absent)."""
  a, b = flatten(old), flatten(new)
  return {k: (a.get(k, "missing"), b.get(k, "missing"))
          for k in sorted(set(a) | set(b)) if a.get(k, "missing") != b.get(k, "missing")}


def _describe(diffs):
  return ", ".join(f"{k} ({old!r} -> {new!r})" for k, (old, new) in diffs.items())


def _saved(workdir):
  """The saved config.yaml as a dict, None when there is none; raises UserError
  when it cannot be read."""
  path = os.path.join(workdir, CONFIG_FILE)
  if not os.path.isfile(path):
    return None
  old = yamlio.load_file(path)
  # Saved paths are absolute; older tfgan1 saved them as given, from the current directory.
  return paths.resolve(old, os.getcwd()) if isinstance(old, dict) else {}


def changed(workdir, config):
  """True when the saved config.yaml exists and differs from `config` (or cannot be read)."""
  try:
    old = _saved(workdir)
  except UserError:
    return True
  return old is not None and bool(differences(old, yamlio.roundtrip(config_lib.to_dict(config))))


def check_backend(workdir, config):
  """A backend switch is refused even when config changes are allowed: one
  backend's checkpoint (its optimizer slots above all) cannot be read by another."""
  try:
    old = _saved(workdir)
  except UserError:  # compare() says so
    return
  before = flatten(old or {}).get("train.backend", "tf2")
  now = config.train.backend
  if old is not None and before != now:
    raise UserError(
        f"train.backend: {workdir!r} was trained with backend {before!r}, whose "
        f"checkpoint (optimizer state included) backend {now!r} cannot read; resume it "
        f"with --set train.backend={before}, or train {now!r} in a new --workdir")


def compare(workdir, config, allow_change):
  """Checks `config` against the saved one before a resume; changes nothing.

  Returns True when the saved config is to be kept as `config.<step>.yaml`.
  """
  path = os.path.join(workdir, CONFIG_FILE)
  try:
    old = _saved(workdir)
  except UserError as e:
    if allow_change:
      return True
    raise UserError(f"--workdir: the saved {path!r} cannot be read ({e}); pass "
                    "--allow_config_change to resume with the new config") from None
  if old is None:
    return False
  new = yamlio.roundtrip(config_lib.to_dict(config))
  diffs = differences(old, new)
  defaults = _defaults()
  harmful = {k: v for k, v in diffs.items()
             if not is_harmless(k) and not _new_key_at_default(k, *v, defaults)}
  if harmful and not allow_change:
    raise UserError(f"--workdir: {workdir!r} was trained with another config; differing "
                    f"keys: {_describe(harmful)}; use another --workdir, or pass "
                    "--allow_config_change to resume with the new config")
  if diffs:
    logging.info("config: changed since the saved run: %s", _describe(diffs))
  return bool(harmful)


def record(workdir, config, step, keep_old):
  """Writes config.yaml, first keeping the old one as config.<step>.yaml if asked."""
  path = os.path.join(workdir, CONFIG_FILE)
  if keep_old:
    kept = os.path.join(workdir, f"config.{step}.yaml")
    shutil.copyfile(path, kept)
    logging.info("config: the config that trained steps up to %d is kept in %s", step, kept)
  with open(path, "w", encoding="utf-8") as f:
    f.write(yamlio.dump(config_lib.to_dict(config)))


def events_dir(workdir):
  """Where this start writes TensorBoard events: the workdir, or `from_step_<S>/`
  in it once a changed config was allowed at step S (its old config kept as
  `config.<S>.yaml`). TensorBoard keeps the first hyperparameters record of a run
  folder, so each config gets its own run: the HParams tab then shows what
  trained which steps."""
  kept = [int(m.group(1)) for name in os.listdir(workdir)
          if (m := re.fullmatch(r"config\.(\d+)\.yaml", name))]
  return os.path.join(workdir, f"from_step_{max(kept)}") if kept else workdir


def finished_record(workdir, step, steps):
  """The final metrics record when the run already ended at `step` >= `steps`, else None."""
  if step < steps:
    return None
  try:
    with open(os.path.join(workdir, "metrics.jsonl"), encoding="utf-8") as f:
      lines = [l for l in f.read().splitlines() if l.strip()]
    last = json.loads(lines[-1]) if lines else None
  except (OSError, ValueError):
    return None
  return last if isinstance(last, dict) and last.get("step") == step else None
