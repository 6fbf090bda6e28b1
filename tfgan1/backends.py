"""The table of train backends: `train.backend` -> the run class that backend builds.

A run class takes the Config and offers the loop the same duck-typed parts
(`trainer.step`, `trainer.train_step(iterator, rng)`, `checkpoint`, `iterator`,
`rng`, `data`, `samples(num, seed)`). `tf2` is `tfgan1.train.Run` itself; other
backends are imported only when chosen, so neither engine imports the other.
"""
import importlib

# backend -> ("module", "run class", "verify function") for non-default backends.
_OTHERS = {"tf1_graph": ("tfgan1.tf1_run", "Run", "tfgan1.tf1_verify")}


def run_class(config, default):
  """The run class of `config.train.backend`; `default` (TF2's) for `tf2`."""
  name = config.train.backend
  if name not in _OTHERS:
    return default
  module, cls, _ = _OTHERS[name]
  return getattr(importlib.import_module(module), cls)


def verifier(config, default):
  """The `main(config)` of `--verify` for `config.train.backend`."""
  name = config.train.backend
  if name not in _OTHERS:
    return default
  return importlib.import_module(_OTHERS[name][2]).main
