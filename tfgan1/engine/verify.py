"""`--verify`: do the update rules that should agree give the same gradients?

On one batch, from the same weights, noise and penalty seed, the one-step loss
(every form) must give D the gradient of L_D and G lambda times the gradient of
L_G, exactly what the simultaneous rule computes with two gradient calls. Plugin
authors run this to check that a loss or network is one-step compatible.
"""
import json

import numpy as np

from tfgan1 import tfimport
from tfgan1.engine import assembly
from tfgan1.engine import distribute
from tfgan1.engine import rules
from tfgan1.engine.trainer import Trainer
from tfgan1.gan.networks import split_labels
from tfgan1.registry import contracts

tf = tfimport.tensorflow()
TOLERANCE = 1e-5  # relative: max |difference| / max |reference gradient|
# The classic form's D gradient is L_D's plus lambda * (g1 - g2), two equal
# gradients that cancel. In float32 each is rounded on its own path, so the sum
# keeps up to a few ulps of their size; this many ulps are allowed.
CANCEL_ULPS = 16

_LIKELY_CAUSE = (
    "the update rules disagree: the networks or the loss are not deterministic from "
    "call to call (a discriminator with dropout or noise layers breaks the one-step "
    "cancellation), or the loss plugin's value changes between calls")
# Forms that call D once on the real and fake batch together for every term, so
# one draw of D's random numbers serves them all: exact with dropout or noise in D.
ONE_CALL_FORMS = ("fused", "shared")


def _snapshot(models):
  return [[v.numpy() for v in m.variables] for m in models]


def _reset(models, snapshot):
  for m, values in zip(models, snapshot):
    for v, value in zip(m.variables, values):
      v.assign(value)


def rule_gradients(trainer, real, z, seed):
  """{name: (D grads, G grads)} from identical weights, as numpy, G unscaled.

  `simultaneous` is the reference; every registered rule adds its
  `verify_variants` (the one-step forms, ...); `simultaneous_again` checks that
  the networks and losses are deterministic. Under a strategy each replica
  differentiates its slice of the batch and the gradients are averaged over
  replicas, as the train step applies them.
  """
  models = (trainer.gan.generator, trainer.gan.discriminator)
  start = _snapshot(models)
  reference = trainer.rule_for("simultaneous").gradients
  fns = [("simultaneous", reference)]
  for name in rules.all_rules():
    fns += list(trainer.rule_for(name).verify_variants().items())
  fns.append(("simultaneous_again", reference))
  out = {}
  for name, fn in fns:
    _reset(models, start)
    d_grads, g_grads = distribute.global_gradients(
        trainer.strategy, lambda *a, f=fn: tuple(f(*a)[:2]) + (None,), real, z, seed)
    out[name] = ([g.numpy() for g in d_grads], [g.numpy() for g in g_grads])
  _reset(models, start)
  return out


def cancelling_scale(trainer, real, z):
  """lambda x the global norm of the classic G terms' D-gradients.

  Those two gradients, of L_G(D(G(z))) and of L_G(D(sg(G(z)))), are equal in
  exact arithmetic and cancel in the one-step loss; float rounding of each
  leaves a remainder proportional to their size, which this measures.
  """
  gan, d_vars = trainer.gan, trainer.d_vars
  real, real_y = split_labels(real)  # a class-conditional run: (x, labels)
  with tf.GradientTape(persistent=True) as tape:
    fake, fake_y = gan.g_call(z)
    real_logits = gan.d_call(real, real_y)
    terms = (gan.generator_loss(gan.d_call(fake, fake_y), real_logits, fake_y),
             gan.generator_loss(gan.d_call(tf.stop_gradient(fake), fake_y),
                                real_logits, fake_y))
  norms = [float(tf.linalg.global_norm(
      [g for g in tape.gradient(term, d_vars) if g is not None])) for term in terms]
  del tape
  return trainer.cfg.lambda_ * max(norms)


def tolerance(pair, reference_scale, cancel_scale, dtype=np.float32):
  """The relative difference allowed for one rule pair.

  TOLERANCE, widened for the classic form's D pair by what rounding can leave
  of its cancelling terms: CANCEL_ULPS x eps(dtype) x their size, relative to
  the reference gradient. Other precisions pass their compute dtype.

  Args:
    pair: the pair's name, `<rule>_vs_simultaneous/<network>`.
    reference_scale: the largest entry of the reference (simultaneous) gradient.
    cancel_scale: `cancelling_scale`, the size of the terms that cancel.
    dtype: the dtype the gradients were computed in.
  """
  if pair != "one_step_classic_vs_simultaneous/discriminator":
    return TOLERANCE
  rounding = CANCEL_ULPS * float(np.finfo(dtype).eps) * cancel_scale
  return TOLERANCE + rounding / max(reference_scale, 1e-30)


def compare(grads, reference):
  """Largest absolute and relative difference between two lists of arrays."""
  diff = max(float(np.max(np.abs(a - b))) for a, b in zip(grads, reference))
  scale = max(float(np.max(np.abs(b))) for b in reference)
  return {"max_abs_diff": diff, "relative": diff / max(scale, 1e-30),
          "reference_scale": scale}


def report(grads, cancel_scale=0.0, tolerance_fn=tolerance):
  """The comparison of every rule pair that should agree, as one dict.

  `worst_*` is the pair closest to (or furthest over) its own tolerance.
  """
  ref = grads["simultaneous"]
  result = {}
  for name in [k for k in grads if k != "simultaneous"]:
    for net, i in (("discriminator", 0), ("generator", 1)):
      pair = f"{name}_vs_simultaneous/{net}"
      r = compare(grads[name][i], ref[i])
      r["tolerance"] = tolerance_fn(pair, r.pop("reference_scale"), cancel_scale)
      result[pair] = r
  worst = max(result, key=lambda k: result[k]["relative"] / result[k]["tolerance"])
  w = result[worst]
  return {"pairs": result, "worst_pair": worst, "worst_relative": w["relative"],
          "tolerance": w["tolerance"], "ok": w["relative"] <= w["tolerance"]}


def setup(config):
  """(built parts, TF2 Trainer, one batch, noise, penalty seed) for a check."""
  strategy = distribute.make(config)
  built = assembly.everything(config, strategy)
  with distribute.scope(strategy):
    trainer = Trainer(built.gan, config.train, built.optimizers, built.noise_fn,
                      strategy=strategy)
  rng = tf.random.Generator.from_seed(config.seed)
  real = next(iter(built.data.dataset(config.train.batch_size, config.seed)))
  z = built.noise_fn(rng, config.train.batch_size)
  return built, trainer, real, z, tf.constant([config.seed, 0], tf.int32)


def run_variant(train):
  """The `--verify` variant that is the run's own update: `one_step_<form>`, or
  `simultaneous_again` (determinism) for rules that are checked by none."""
  if train.rule == "one_step":
    return f"one_step_{train.one_step_form}"
  return "simultaneous_again"


def exact_by_variant(result):
  """{variant: True when both its D and G gradients agree within tolerance}."""
  exact = {}
  for pair, r in result["pairs"].items():
    name = pair.rsplit("_vs_simultaneous/", 1)[0]
    exact[name] = exact.get(name, True) and r["relative"] <= r["tolerance"]
  return exact


def main(config):
  """Builds the run's models, takes one batch, prints JSON.

  Exit 0 when the variant the run trains with (`run_variant`) agrees, and D is
  deterministic (`simultaneous_again`); `ok` says whether every variant agrees,
  `exact` which ones do.
  """
  built, trainer, real, z, seed = setup(config)
  # A mixed policy rounds every product to its compute dtype, so the rules agree
  # only to that precision: the plugin's `verify_factor` loosens the tolerance.
  factor = float(contracts.hook(built.precision, "precision", "verify_factor"))
  result = check(trainer, real, z, seed, factor)
  result["precision"] = config.precision.name if config.precision else assembly.keras.config.floatx()
  strategy = trainer.strategy
  result["replicas"] = strategy.num_replicas_in_sync if strategy else 1
  result["run_variant"] = run_variant(config.train)
  exact = result["exact"]
  result["run_variant_ok"] = exact.get(result["run_variant"], False) and exact["simultaneous_again"]
  print(json.dumps(result, indent=2))
  return 0 if result["run_variant_ok"] else 1


def check(trainer, real, z, seed, factor=1.0):
  """The report for one batch, with the likely cause when the rules disagree.

  `factor` widens every tolerance (a mixed-precision policy's `verify_factor`).
  """
  grads = rule_gradients(trainer, real, z, seed)
  models = (trainer.gan.generator, trainer.gan.discriminator)
  start = _snapshot(models)
  cancel = cancelling_scale(trainer, real, z)
  _reset(models, start)
  result = report(grads, cancel,
                  lambda *a: factor * tolerance(*a))
  result["exact"] = exact_by_variant(result)
  if not result["ok"]:
    result["likely_cause"] = _likely_cause(result["exact"])
  return result


def _likely_cause(exact):
  """The cause, naming the variants that differ and those that stay exact."""
  differ = [k for k, ok in exact.items() if not ok]
  same = [k for k, ok in exact.items() if ok]
  return (f"{_LIKELY_CAUSE}; differ: {', '.join(differ)}; exact: {', '.join(same) or 'none'}"
          f" (with dropout or noise in D the forms that call D once per step, "
          f"{' and '.join(ONE_CALL_FORMS)}, stay exact)")


def random_layers(model):
  """Names of `model`'s layers that draw random numbers on each call (dropout,
  Gaussian noise): in Keras 3 each such layer holds a `SeedGenerator`."""
  keras = assembly.keras
  names = []
  for layer in model._flatten_layers(include_self=False):  # pylint: disable=protected-access
    if any(isinstance(v, keras.random.SeedGenerator) for v in vars(layer).values()):
      names.append(layer.name)
  return names
