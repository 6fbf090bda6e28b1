"""tfgan1: GAN training with custom TensorFlow 2 loops, one-step losses and plugins.

The public API:

- `train_and_evaluate(config, workdir)`: trains a run as `python -m tfgan1.run`
  does (same checks, files, console lines); `config` is a YAML path, a dict in
  the YAML layout or a `Config`.
- `load_config(config, overrides=())`: a checked `Config` from a path, a dict or
  a `Config`, with `a.b=value` overrides as `--set`.
- `load_plugins(*extra)`: fills the registries with the built-in, entry-point
  and `extra` plugins (runs do this by themselves).
- `Config`: the frozen run config (`tfgan1.config`).
- `tfgan1.keras.GAN`: a `keras.Model` whose `fit` trains a GAN with the same
  engine (`import tfgan1.keras`; imports TensorFlow).
- `LOSSES`, `PENALTIES`, `ARCHITECTURES`, `DATASETS`, `PRECISIONS`: the plugin
  registries (`Registry`), for your own plugins.
- `tf1_networks(key, generator, discriminator)`: registers two plain TF1 functions
  as an architecture (for `train.backend: tf1_graph`; `tfgan1.registry.tf1`).
- `UserError`: bad user input, always a one-line message.

`import tfgan1` imports no TensorFlow; a run, `tfgan1.keras` and the plugins do.
"""
from tfgan1.api import load_config, load_plugins, train_and_evaluate
from tfgan1.config.sections import Config
from tfgan1.errors import UserError
from tfgan1.registry import (ARCHITECTURES, DATASETS, EVALUATORS, LOSSES,
                             PENALTIES, PRECISIONS, Registry)
from tfgan1.registry.tf1 import tf1_networks

__version__ = "0.2.0"

__all__ = ["ARCHITECTURES", "Config", "DATASETS", "EVALUATORS", "LOSSES", "PENALTIES", "PRECISIONS",
           "Registry", "UserError", "__version__", "keras", "load_config",
           "load_plugins", "tf1_networks", "train_and_evaluate"]


def __getattr__(name):
  """`tfgan1.keras` on first use, so `import tfgan1` stays free of TensorFlow."""
  if name == "keras":
    import importlib  # pylint: disable=g-import-not-at-top
    return importlib.import_module("tfgan1.keras")
  raise AttributeError(f"module 'tfgan1' has no attribute {name!r}")
