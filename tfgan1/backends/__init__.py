"""Train backends: how a run's steps execute. Each is a `protocol.Backend`
subclass in a module of its own, listed in `tfgan1.registry.BACKEND_MODULES`
and imported only when a config chooses it, so neither engine imports the other.
"""
import importlib

from tfgan1.errors import UserError
from tfgan1.registry import BACKEND_MODULES


def backend_class(name):
  """The Backend class of `train.backend` = `name`."""
  if name not in BACKEND_MODULES:
    raise UserError(f"train.backend: unknown backend {name!r}; known: "
                    f"{', '.join(sorted(BACKEND_MODULES))}")
  return importlib.import_module(BACKEND_MODULES[name]).BACKEND


def make(config, strategy=None):
  """The run of `config.train.backend`, built and checked (no file written yet)."""
  cls = backend_class(config.train.backend)
  cls.supports.check(config, cls.name)
  return cls(config, strategy)


def verify(config):
  """`--verify` for the config's backend: prints JSON; returns the exit code."""
  cls = backend_class(config.train.backend)
  cls.supports.check(config, cls.name)
  return cls.verify(config)
