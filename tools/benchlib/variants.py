"""The step variants `bench.py` compares: the engine's rules, the hand-written
references and the bare one-step loop, each a callable over its own run."""
from benchlib import models
from benchlib import timing
from benchlib.timing import Variant
from tfgan1.errors import UserError
from tfgan1.registry import RULE_MODULES


def _rule_variants():
  """Every registered rule (tfgan1.registry.RULE_MODULES), one_step in each form;
  every variant updates D once and G once per step (alternating is 1:1)."""
  out = {}
  for rule in RULE_MODULES:
    if rule == "one_step":
      for form in ("stateless", "fused", "classic", "shared"):
        out[f"one_step/{form}"] = ["train.rule=one_step", f"train.one_step_form={form}"]
    elif rule == "alternating":
      out[rule] = ["train.rule=alternating", "train.n_d=1", "train.n_g=1"]
    else:
      out[rule] = [f"train.rule={rule}"]
  return out


RULES = _rule_variants()
CONFIG = "config"  # the config's own rule, form and n_d:n_g, as shipped
REFERENCES = ("ref/tf_tutorial", "ref/keras_io", "ref/tf1_session")
# train.backend=tf1_graph (no XLA whatever --jit says), beside ref/tf1_session:
# a round's steps in one `train(steps)` call, one session call per step, as the
# run loop calls it (draws in blocks, metrics of the last step only).
TF1 = {"tf1/simultaneous": RULES["simultaneous"], "tf1/one_step": ["train.rule=one_step"]}
BARE = "bare/one_step"
BASE = "alternating"  # ratios are to this rule's time per step
NAMES = tuple(RULES) + REFERENCES + (BARE,) + tuple(TF1)
ALL = NAMES + (CONFIG,)


def _engine(run):
  return lambda: run.trainer.train_step(run.iterator, run.rng)


def build(model, name, jit, extra=()):
  """One variant of a preset model, XLA on or off, built from the config's seed."""
  path, overrides, _ = models.preset(model)
  # No EMA: the hand-written references have none, so no variant gets one.
  overrides = overrides + ["ema=null"] + list(extra) + [f"train.jit_compile={str(jit).lower()}"]
  from benchlib import references  # pylint: disable=g-import-not-at-top  (imports TF)
  tf = timing.tensorflow()
  if name in RULES or name == CONFIG:
    run = timing.build_run(path, overrides + RULES.get(name, []))
    return Variant(name, run, _engine(run))
  if name in TF1:
    tf1 = ["train.backend=tf1_graph", "train.jit_compile=false"]
    run = timing.build_run(path, overrides + TF1[name] + tf1)  # the last --set wins
    return timing.run_variant(name, run, blocks=True)  # the run loop's session calls
  if name in REFERENCES:  # two optimizers: what the simultaneous rule builds
    run = timing.build_run(path, overrides + RULES["simultaneous"])
    fn = references.REFERENCES[name.split("/")[1]](run, tf, jit)
    return Variant(name, run, lambda: fn(run.iterator))
  if name == BARE:
    run = timing.build_run(path, overrides + ["train.rule=one_step"])
    fn = references.bare_one_step(run, tf, jit)
    return Variant(name, run, lambda: fn(None))
  raise KeyError(name)


def build_config(model, extra=()):
  """The preset's config with `extra` overrides, loaded and checked (nothing built)."""
  from tfgan1 import config as config_lib  # pylint: disable=g-import-not-at-top
  path, overrides, _ = models.preset(model)
  return config_lib.load(path, overrides + list(extra))


def model_jits(flags):
  """(model, XLA on?) for every `--models` entry and its `--jit` values, in order."""
  return [(model, jit) for model in flags.models
          for jit in jits(flags.jit, model, flags.set)]


def jits(values, model, extra=()):
  """`--jit` as booleans for `model`; 'config' is the config's own train.jit_compile."""
  allowed = {"false": False, "true": True}
  out = []
  for j in values:
    if j == "config":
      out.append(build_config(model, extra).train.jit_compile)
    elif j in allowed:
      out.append(allowed[j])
    else:
      raise UserError(f"--jit: {j!r} is not allowed; choose from: config, false, true")
  return out
