"""One small registry class, one instance per plugin kind, and the update rules.

Plugins register under explicit lowercase keys with a decorator::

    from tfgan1 import LOSSES

    @LOSSES.register("my_loss")
    class MyLoss: ...

A duplicate key raises naming the module that already owns it (as mmengine does);
an unknown key raises listing the known keys, sorted (as big_vision does).
"""
import re

from tfgan1.errors import UserError

_KEY = re.compile(r"^[a-z][a-z0-9_]*$")


class Registry:
  """Maps lowercase keys to plugin objects (classes or functions) of one kind."""

  def __init__(self, kind):
    self.kind = kind
    self._entries = {}

  def register(self, key):
    """Returns a decorator that registers its argument under `key`."""
    if not isinstance(key, str) or not _KEY.match(key):
      raise ValueError(
          f"{self.kind} key {key!r} is not allowed: use lowercase letters, "
          "digits and '_', starting with a letter")

    def decorator(obj):
      owner = self._entries.get(key)
      if owner is not None and owner is not obj:
        raise KeyError(
            f"{self.kind} key {key!r} is already registered by module "
            f"{owner.__module__!r} ({owner.__qualname__}); "
            f"{obj.__module__!r} cannot register it again")
      self._entries[key] = obj
      return obj

    return decorator

  def get(self, key, field=None):
    """Returns the plugin under `key`; `field` names the config key in errors."""
    if key not in self._entries:
      where = f"{field}: " if field else ""
      known = ", ".join(sorted(self._entries)) or "(none registered)"
      raise UserError(f"{where}unknown {self.kind} {key!r}; known: {known}")
    return self._entries[key]

  def keys(self):
    return sorted(self._entries)

  def __contains__(self, key):
    return key in self._entries

  def __len__(self):
    return len(self._entries)

  def __repr__(self):
    return f"Registry({self.kind!r}, keys={self.keys()})"


LOSSES = Registry("loss")
PENALTIES = Registry("penalty")
ARCHITECTURES = Registry("architecture")
DATASETS = Registry("dataset")
PRECISIONS = Registry("precision")
EVALUATORS = Registry("evaluator")

# Update rules (`train.rule`): each key's module defines and registers its
# `tfgan1.engine.rules.base.UpdateRule` subclass in RULES. The keys are listed
# here so that the config checks `train.rule` without importing TensorFlow.
RULE_MODULES = {
    "one_step": "tfgan1.engine.rules.one_step",
    "simultaneous": "tfgan1.engine.rules.simultaneous",
    "alternating": "tfgan1.engine.rules.alternating",
    "extragradient": "tfgan1.engine.rules.extragradient",
}
RULES = Registry("update rule")

# Train backends (`train.backend`): each key's module defines its
# `tfgan1.backends.protocol.Backend` subclass as `BACKEND`.
BACKEND_MODULES = {
    "tf2": "tfgan1.backends.tf2",
    "tf1_graph": "tfgan1.backends.tf1_graph.run",
}

ALL = {"losses": LOSSES, "penalties": PENALTIES, "architectures": ARCHITECTURES,
       "datasets": DATASETS, "precision": PRECISIONS,
       "evaluators": EVALUATORS}
