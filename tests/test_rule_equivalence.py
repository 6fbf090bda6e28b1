"""The update rules that should agree do: gradients to 1e-6 on float32.

For every loss family and penalty, from the same weights, batch, noise and
penalty seed: the one-step loss (classic, stateless, fused and shared forms) gives D the
gradient of L_D (+ penalties) and G lambda times the gradient of L_G, which is
what the simultaneous rule computes with two gradient calls.
"""
import numpy as np
import pytest

from tfgan1 import registry

from tfgan1.engine import assembly as build
from tfgan1 import config as config_lib
from tfgan1.engine.trainer import Trainer
from tfgan1.engine.verify import report, rule_gradients

tf = build.tf
FAMILIES = ["hinge", "non_saturating", "minimax", "wasserstein", "least_squares",
            "relativistic", "relativistic_average"]
PENALTIES = ["gradient_penalty", "r1", "r2", "dragan"]
FORMS = ("one_step_classic", "one_step_stateless", "one_step_fused", "one_step_shared")


def _trainer(overrides, d_norm="none", dropout=0.0):
  raw = {"generator": {"name": "mlp", "hidden": [16, 16], "norm": "batch_norm"},
         "discriminator": {"name": "mlp", "hidden": [16, 16], "norm": d_norm,
                           "dropout": dropout},
         "loss": "hinge", "data": "grid25", "noise": {"dim": 4},
         "train": {"batch_size": 32}}
  cfg = config_lib.from_dict(raw, overrides)
  built = build.everything(cfg)
  trainer = Trainer(built.gan, cfg.train, built.optimizers, built.noise_fn)
  real = next(iter(built.data.dataset(32, 0)))
  z = tf.random.stateless_normal([32, 4], seed=[1, 2])
  return trainer, real, z


def _assert_equivalent(trainer, real, z, tol=1e-6, forms=FORMS):
  grads = rule_gradients(trainer, real, z, tf.constant([3, 4], tf.int32))
  ref_d, ref_g = grads["simultaneous"]
  assert any(np.abs(g).max() > 0 for g in ref_g), "G gradient must not vanish"
  for name in forms:
    d, g = grads[name]
    for got, want in zip(d + g, ref_d + ref_g):
      np.testing.assert_allclose(got, want, rtol=tol, atol=tol * max(1.0, np.abs(want).max()))
  return grads


def test_all_families_registered(plugins_loaded):
  assert set(FAMILIES) <= set(registry.LOSSES.keys())
  assert set(PENALTIES) <= set(registry.PENALTIES.keys())


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("d_norm", ["none", "batch_norm"])
def test_one_step_equals_simultaneous(plugins_loaded, family, d_norm):
  trainer, real, z = _trainer([f"loss.name={family}"], d_norm)
  # shared assumes a D without batch coupling (refused at build otherwise).
  _assert_equivalent(trainer, real, z, forms=FORMS if d_norm == "none" else FORMS[:3])


@pytest.fixture(scope="module")
def plain_gradients(plugins_loaded):
  """(trainer, real, z, its rule_gradients) of the plain config, built once for
  every penalty (rule_gradients puts the weights back, so the trainer is as built)."""
  plain, real, z = _trainer([])
  return plain, real, z, rule_gradients(plain, real, z, tf.constant([3, 4], tf.int32))


@pytest.mark.parametrize("penalty", PENALTIES)
def test_penalties_keep_equivalence_and_never_move_g(plain_gradients, penalty):
  plain, real, z, base = plain_gradients
  with_penalty, _, _ = _trainer([f"penalties=[{{name: {penalty}, weight: 10.0}}]"])
  with_penalty.gan.generator.set_weights(plain.gan.generator.get_weights())
  with_penalty.gan.discriminator.set_weights(plain.gan.discriminator.get_weights())
  grads = _assert_equivalent(with_penalty, real, z)
  for rule in ("simultaneous",) + FORMS:
    for got, want in zip(grads[rule][1], base[rule][1]):  # G unchanged by the penalty
      np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
  d_change = max(np.abs(a - b).max() for a, b in zip(grads["simultaneous"][0],
                                                     base["simultaneous"][0]))
  assert d_change > 1e-4, "the penalty must move D"


def test_lambda_scales_only_g(plugins_loaded):
  trainer, real, z = _trainer(["train.lambda=3.0"])
  seed = tf.constant([3, 4], tf.int32)
  d1, g1, _ = trainer.rule_for("one_step").gradients(real, z, seed)
  d0, g0, _ = trainer.rule_for("simultaneous").gradients(real, z, seed)
  for a, b in zip(d1, d0):
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7)
  for a, b in zip(g1, g0):
    np.testing.assert_allclose(a.numpy(), 3.0 * b.numpy(), rtol=1e-5, atol=1e-7)


def test_dropout_in_d_breaks_equivalence_and_verify_says_so(plugins_loaded):
  trainer, real, z = _trainer([], dropout=0.5)
  result = report(rule_gradients(trainer, real, z, tf.constant([3, 4], tf.int32)))
  assert not result["ok"] and result["worst_relative"] > 1e-3


def test_one_step_with_packing(plugins_loaded):
  """PacGAN packing: D judges 2 samples per logit; every form still agrees."""
  trainer, real, z = _trainer(["discriminator.pack=2"])
  _assert_equivalent(trainer, real, z)


def test_one_step_with_maxout_d(plugins_loaded):
  """PacGAN's maxout D (3 pieces per unit): every form still agrees."""
  trainer, real, z = _trainer(["discriminator.activation=maxout", "discriminator.pieces=3"])
  _assert_equivalent(trainer, real, z)


def test_one_step_with_output_experts_in_g(plugins_loaded):
  """G with 4 output experts picked by noise entry 0: every form still agrees,
  and the batch's noise reaches more than one expert's weights."""
  trainer, real, z = _trainer(["generator.experts=4"])
  grads = _assert_equivalent(trainer, real, z)
  heads = grads["simultaneous"][1][-2].reshape(16, 4, 2)  # the heads' kernel [16, 4 x 2]
  assert (np.abs(heads).max(axis=(0, 2)) > 0).sum() >= 2
