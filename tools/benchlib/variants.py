"""The step variants `bench.py` compares: the engine's rules, the hand-written
references and the bare one-step loop, each a callable over its own run."""
import dataclasses
from typing import Any, Callable

from benchlib import models
from benchlib import references
from tfgan1 import benchmark

# Every variant updates D once and G once per step (alternating is 1:1).
RULES = {
    "one_step/stateless": ["train.rule=one_step", "train.one_step_form=stateless"],
    "one_step/fused": ["train.rule=one_step", "train.one_step_form=fused"],
    "one_step/classic": ["train.rule=one_step", "train.one_step_form=classic"],
    "one_step/shared": ["train.rule=one_step", "train.one_step_form=shared"],
    "simultaneous": ["train.rule=simultaneous"],
    "alternating": ["train.rule=alternating", "train.n_d=1", "train.n_g=1"],
}
CONFIG = "config"  # the config's own rule, form and n_d:n_g, as shipped
REFERENCES = ("ref/tf_tutorial", "ref/keras_io")
BARE = "bare/one_step"
BASE = "alternating"  # ratios are to this rule's time per step
NAMES = tuple(RULES) + REFERENCES + (BARE,)
ALL = NAMES + (CONFIG,)


@dataclasses.dataclass
class Variant:
  name: str
  run: Any
  step: Callable[[], Any]  # one update; returns something to fetch


def _engine(run):
  return lambda: run.trainer.train_step(run.iterator, run.rng)


def build(model, name, jit, extra=()):
  """One variant of a preset model, XLA on or off, built from the config's seed."""
  path, overrides, _ = models.preset(model)
  # No EMA: the hand-written references have none, so no variant gets one.
  overrides = overrides + ["ema=null"] + list(extra) + [f"train.jit_compile={str(jit).lower()}"]
  tf = benchmark.tensorflow()
  if name in RULES or name == CONFIG:
    run = benchmark.build_run(path, overrides + RULES.get(name, []))
    return Variant(name, run, _engine(run))
  if name in REFERENCES:  # two optimizers: what the simultaneous rule builds
    run = benchmark.build_run(path, overrides + RULES["simultaneous"])
    fn = references.REFERENCES[name.split("/")[1]](run, tf, jit)
    return Variant(name, run, lambda: fn(run.iterator))
  if name == BARE:
    run = benchmark.build_run(path, overrides + ["train.rule=one_step"])
    fn = references.bare_one_step(run, tf, jit)
    return Variant(name, run, lambda: fn(None))
  raise KeyError(name)


def fetch(value):
  """Waits for a step's result: its first scalar reaches the host."""
  tf = benchmark.tensorflow()
  first = tf.nest.flatten(value)[0]
  return float(tf.reshape(first, [-1])[0])


def build_config(model, extra=()):
  """The preset's config with `extra` overrides, loaded and checked (nothing built)."""
  from tfgan1 import config as config_lib  # pylint: disable=g-import-not-at-top
  path, overrides, _ = models.preset(model)
  return config_lib.load(path, overrides + list(extra))
