"""`--verify`: do the update rules that should agree give the same gradients?

On one batch, from the same weights, noise and penalty seed, the one-step loss
(both forms) must give D the gradient of L_D and G lambda times the gradient of
L_G, exactly what the simultaneous rule computes with two gradient calls. Plugin
authors run this to check that a loss or network is one-step compatible.
"""
import json

import numpy as np

from tfgan1 import build
from tfgan1.engine import Trainer

tf = build.tf
TOLERANCE = 1e-5  # relative: max |difference| / max |reference gradient|

_LIKELY_CAUSE = (
    "the update rules disagree: the networks or the loss are not deterministic from "
    "call to call (a discriminator with dropout or noise layers breaks the one-step "
    "cancellation), or the loss plugin's value changes between calls")


def _snapshot(models):
  return [[v.numpy() for v in m.variables] for m in models]


def _reset(models, snapshot):
  for m, values in zip(models, snapshot):
    for v, value in zip(m.variables, values):
      v.assign(value)


def rule_gradients(trainer, real, z, seed):
  """{rule: (D grads, G grads)} from identical weights, as numpy, G unscaled."""
  models = (trainer.gan.generator, trainer.gan.discriminator)
  start = _snapshot(models)
  lam = trainer.cfg.lambda_
  out = {}
  for name, fn in (("simultaneous", trainer.simultaneous_gradients),
                   ("one_step_classic", lambda *a: trainer.one_step_gradients(*a, form="classic")),
                   ("one_step_stateless", lambda *a: trainer.one_step_gradients(*a, form="stateless")),
                   ("simultaneous_again", trainer.simultaneous_gradients)):
    _reset(models, start)
    d_grads, g_grads, _ = fn(real, z, seed)
    scale = lam if name.startswith("one_step") else 1.0
    out[name] = ([g.numpy() for g in d_grads], [g.numpy() / scale for g in g_grads])
  _reset(models, start)
  return out


def compare(grads, reference):
  """Largest absolute and relative difference between two lists of arrays."""
  diff = max(float(np.max(np.abs(a - b))) for a, b in zip(grads, reference))
  scale = max(float(np.max(np.abs(b))) for b in reference)
  return {"max_abs_diff": diff, "relative": diff / max(scale, 1e-30)}


def report(grads, tolerance=TOLERANCE):
  """The comparison of every rule pair that should agree, as one dict."""
  ref = grads["simultaneous"]
  result = {}
  for name in ("one_step_classic", "one_step_stateless", "simultaneous_again"):
    for net, i in (("discriminator", 0), ("generator", 1)):
      result[f"{name}_vs_simultaneous/{net}"] = compare(grads[name][i], ref[i])
  worst = max(r["relative"] for r in result.values())
  return {"pairs": result, "worst_relative": worst, "tolerance": tolerance,
          "ok": worst <= tolerance}


def main(config):
  """Builds the run's models, takes one batch, prints JSON; exit 0 if rules agree."""
  built = build.everything(config)
  trainer = Trainer(built.gan, config.train, built.optimizers, built.noise_fn)
  rng = tf.random.Generator.from_seed(config.seed)
  real = next(iter(built.data.dataset(config.train.batch_size, config.seed)))
  z = built.noise_fn(rng, config.train.batch_size)
  seed = tf.constant([config.seed, 0], tf.int32)
  # A mixed policy rounds every product to its compute dtype, so the rules agree
  # only to that precision: the plugin's `verify_factor` loosens the tolerance.
  factor = float(getattr(built.precision, "verify_factor", 1.0))
  result = report(rule_gradients(trainer, real, z, seed), TOLERANCE * factor)
  result["precision"] = config.precision.name if config.precision else build.keras.config.floatx()
  if not result["ok"]:
    result["likely_cause"] = _LIKELY_CAUSE
  print(json.dumps(result, indent=2))
  return 0 if result["ok"] else 1
