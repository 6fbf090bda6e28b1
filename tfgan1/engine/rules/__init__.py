"""The update rules, one class in one module each, found through `RULES`.

A rule's module registers its class under the key `train.rule` names; the
table of those modules is `tfgan1.registry.RULE_MODULES`, so the config can
check the key without TensorFlow and a rule is imported only when it is used.
"""
import importlib

from tfgan1.registry import RULE_MODULES, RULES


def rule_class(name, field="train.rule"):
  """The UpdateRule subclass registered under `name` (importing its module)."""
  if name in RULE_MODULES and name not in RULES:
    importlib.import_module(RULE_MODULES[name])
  return RULES.get(name, field)


def all_rules():
  """{name: class} of every registered rule (all of them imported)."""
  return {name: rule_class(name) for name in sorted(RULE_MODULES)}
