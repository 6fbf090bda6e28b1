"""What `train.lambda` does to real optimizer steps under the one-step rule.

The one-step loss hands G `lambda * grad L_G`. Plain SGD turns that into a step
`lambda` times larger, so lambda is a G/D learning-rate ratio. Adam divides by
the gradient's running scale, so its first step is ~lr * sign(g) whatever lambda
is: with a shared adaptive optimizer lambda barely moves G's step, and the way to
give D and G different step sizes (TTUR) is a learning rate per network.
"""
import logging

import numpy as np
import pytest

from tests.conftest import ROOT
from tfgan1.engine import assembly as build
from tfgan1 import config as config_lib
from tfgan1.engine.trainer import Trainer

tf = build.tf
BATCH = 32
NOISE_DIM = 4
TINY = ["generator.hidden=[8]", "discriminator.hidden=[8]", "train.steps=2",
        "train.batch_size=8", "eval.num_samples=10"]


def _first_update(overrides):
  """Takes one compiled one-step update; returns (trainer, D deltas, G deltas, grads).

  No BatchNorm and no dropout, so the gradients computed before the update are
  exactly those the update applies. The same seed gives the same initial weights,
  batch and noise for every call, so runs that differ only in `overrides` are
  directly comparable.
  """
  raw = {"generator": {"name": "mlp", "hidden": [16, 16]},
         "discriminator": {"name": "mlp", "hidden": [16, 16]},
         "loss": "hinge", "data": "grid25", "noise": {"dim": NOISE_DIM},
         "train": {"batch_size": BATCH}}
  cfg = config_lib.from_dict(raw, overrides)
  built = build.everything(cfg)
  trainer = Trainer(built.gan, cfg.train, built.optimizers, built.noise_fn)
  real = next(iter(built.data.dataset(BATCH, 0)))
  z = tf.random.stateless_normal([BATCH, NOISE_DIM], seed=[1, 2])
  seed = tf.constant([3, 4], tf.int32)
  d_grads, g_grads, _ = trainer.rule_for("one_step").gradients(real, z, seed)
  d_before = [v.numpy() for v in trainer.d_vars]
  g_before = [v.numpy() for v in trainer.g_vars]
  trainer._update([real], [z], seed)  # pylint: disable=protected-access
  d_delta = [v.numpy() - b for v, b in zip(trainer.d_vars, d_before)]
  g_delta = [v.numpy() - b for v, b in zip(trainer.g_vars, g_before)]
  grads = ([g.numpy() for g in d_grads], [g.numpy() for g in g_grads])
  return trainer, d_delta, g_delta, grads


def _relative(got, want):
  """max |got - want| / max |want| over a list of arrays."""
  diff = max(float(np.abs(a - b).max()) for a, b in zip(got, want))
  return diff / max(float(np.abs(b).max()) for b in want)


def _flat(arrays):
  return np.concatenate([a.ravel() for a in arrays])


def test_sgd_shared_lambda_scales_g_step(plugins_loaded):
  # A large learning rate keeps the deltas far above float32 rounding of the weights.
  sgd = ["optimizer={name: sgd, learning_rate: 0.5}"]
  trainer, d1, g1, _ = _first_update(sgd + ["train.lambda=1.0"])
  assert set(trainer.optimizers) == {"joint"}
  _, d4, g4, _ = _first_update(sgd + ["train.lambda=4.0"])
  assert np.abs(_flat(g1)).max() > 1e-3, "G must actually move"
  assert _relative(g4, [4.0 * g for g in g1]) < 1e-5
  assert _relative(d4, d1) < 1e-6  # lambda never reaches D's gradient


def test_adam_shared_first_step_ignores_lambda(plugins_loaded):
  adam = ["optimizer={name: adam, learning_rate: 1.0e-3}"]
  trainer, d1, g1, (d_grads, g_grads) = _first_update(adam + ["train.lambda=1.0"])
  assert set(trainer.optimizers) == {"joint"}
  _, d4, g4, _ = _first_update(adam + ["train.lambda=4.0"])
  # Adam's first step is lr * g / (|g| + eps / sqrt(1 - beta_2)): a 4x gradient
  # gives the same step (SGD's was 4x above), so lambda is not a learning-rate
  # ratio here. Only elements whose |g| is within ~100x of that ~3e-6 epsilon
  # feel lambda, so the element-wise check leaves them out.
  live = np.abs(_flat(g_grads)) > 1e-3  # eps' / |g| < 0.3%
  assert live.mean() > 0.5
  step1, step4 = _flat(g1), _flat(g4)
  assert _relative([step4[live]], [step1[live]]) < 1e-2
  # Whole step, near-epsilon elements included: measured ~3.5% (SGD's is 300%).
  assert np.linalg.norm(step4 - step1) / np.linalg.norm(step1) < 0.1
  assert _relative(g4, [4.0 * g for g in g1]) > 0.7  # nowhere near SGD's 4x
  # D's gradient does not depend on lambda, but the classic form cancels the G
  # term in D only to float32 rounding (~1e-7), which Adam magnifies where |g|
  # is near epsilon: compare D where its gradient is well above that.
  live_d = np.abs(_flat(d_grads)) > 1e-3
  assert live_d.mean() > 0.5
  assert _relative([_flat(d4)[live_d]], [_flat(d1)[live_d]]) < 1e-4


def test_per_network_adam_first_steps_are_the_learning_rates(plugins_loaded):
  ttur = ["optimizer={name: adam, learning_rate: 2.0e-4}",
          "d_optimizer={learning_rate: 4.0e-4}", "g_optimizer={learning_rate: 1.0e-4}"]
  trainer, d_delta, g_delta, (d_grads, g_grads) = _first_update(ttur)
  assert set(trainer.optimizers) == {"d", "g"}
  for lr, deltas, grads in ((4e-4, d_delta, d_grads), (1e-4, g_delta, g_grads)):
    step, grad = np.abs(_flat(deltas)), np.abs(_flat(grads))
    # Keras Adam's first step is lr * g / (|g| + eps / sqrt(1 - beta_2)), i.e.
    # lr * sign(g) up to ~3e-6 / |g|; elements with no gradient do not move.
    live = grad > 1e-3
    assert live.mean() > 0.3, "too few elements with a usable gradient"
    np.testing.assert_allclose(step[live], lr, rtol=1e-2)
    assert step[grad == 0].max(initial=0.0) == 0.0
  ratio = (np.median(np.abs(_flat(d_delta))[np.abs(_flat(d_grads)) > 1e-3])
           / np.median(np.abs(_flat(g_delta))[np.abs(_flat(g_grads)) > 1e-3]))
  np.testing.assert_allclose(ratio, 4.0, rtol=1e-2)


@pytest.mark.parametrize("optimizer,warned", [
    (None, True),  # ring8.yaml's shared Adam
    ("optimizer={name: sgd, learning_rate: 0.01}", False),
])
def test_run_warns_lambda_with_shared_adaptive_optimizer(plugins_loaded, tmp_path, caplog,
                                                         optimizer, warned):
  """In-process through tfgan1.api, exactly what the CLI runs (its log lines are
  the CLI's stderr), without a second interpreter importing TensorFlow."""
  from tfgan1 import api  # pylint: disable=import-outside-toplevel
  config = api.load_config(ROOT / "configs" / "ring8.yaml",
                           TINY + ["train.lambda=2"] + ([optimizer] if optimizer else []))
  with caplog.at_level(logging.WARNING):
    record = api.train_and_evaluate(config, str(tmp_path / "w"))
  assert record["step"] == 2
  lines = [r.getMessage() for r in caplog.records]
  lines = [l for l in lines if "train.lambda" in l and "adaptive" in l]
  assert bool(lines) == warned, lines
