"""`train.backend: tf1_graph` is the same algorithm as the TF2 engine.

TF2 runs and TF1 graph runs share this process: the TF1 graph lives in a
`tf.Graph` of its own, so nothing here needs a subprocess except the CLI runs.
"""
import numpy as np
import pytest

from tfgan1 import config as config_lib
from tfgan1 import tf1_run
from tfgan1 import train
from tfgan1.errors import UserError

tf = train.tf
STEPS = 5
RULES = ["one_step", "simultaneous", "alternating"]


def _ring(tmp_path, *overrides):
  raw = {"generator": {"name": "mlp", "hidden": [16, 16], "norm": "batch_norm"},
         "discriminator": {"name": "mlp", "hidden": [16, 16]},
         "loss": "hinge", "data": "ring8", "noise": {"dim": 4},
         "optimizer": {"name": "sgd", "learning_rate": 0.05},
         "ema": {"decay": 0.9}, "train": {"batch_size": 32}}
  return config_lib.from_dict(raw, overrides)


def _dcgan(tmp_path, *overrides):
  path = tmp_path / "mnist.npz"
  pixels = np.random.default_rng(0).integers(0, 256, (64, 28, 28), dtype=np.uint8)
  np.savez(path, x_train=pixels)
  raw = {"generator": {"name": "dcgan", "base_channels": 8},
         "discriminator": {"name": "dcgan", "base_channels": 8, "norm": "spectral_norm"},
         "loss": "hinge", "data": {"name": "mnist", "path": str(path)},
         "noise": {"dim": 8}, "optimizer": {"name": "sgd", "learning_rate": 0.05},
         "train": {"batch_size": 8}}
  return config_lib.from_dict(raw, overrides)


def _weights(run):
  """Every weight the two backends should agree on, as numpy, by name."""
  t = run.trainer
  models = {"G": t.gan.generator, "D": t.gan.discriminator}
  if t.ema is not None:
    models["EMA"] = t.ema.model
  return {f"{k}/{i}/{v.path.rsplit('/', 1)[-1]}": v.numpy()  # Keras' layer names differ
          for k, m in models.items() for i, v in enumerate(m.weights)}


def _train_both(config):
  """(TF2 weights, TF1 graph weights) after STEPS steps from the TF2 build's weights."""
  tf2 = train.Run(config)
  tf1 = tf1_run.Run(config)
  t1, t2 = tf1.trainer, tf2.trainer
  t1.gan.generator.set_weights(t2.gan.generator.get_weights())  # copied, not just re-seeded
  t1.gan.discriminator.set_weights(t2.gan.discriminator.get_weights())
  if t2.ema is not None:
    t1.ema.model.set_weights(t2.ema.model.get_weights())
  t1.stale = True  # the mirrors changed: push them into the graph
  start = _weights(tf2)
  for _ in range(STEPS):
    m2 = t2.train_step(tf2.iterator, tf2.rng)
    m1 = t1.train_step(tf1.iterator, tf1.rng)
  tf1.trainer.pull()
  assert int(t1.step.numpy()) == int(t2.step.numpy()) == STEPS
  for key in ("loss_d", "loss_g", "grad_norm_d", "grad_norm_g"):
    np.testing.assert_allclose(float(m1[key]), float(m2[key]), rtol=1e-4)
  return start, _weights(tf2), _weights(tf1)


def _assert_close(got, want, rtol):
  assert got.keys() == want.keys()
  for key in want:
    scale = max(1.0, float(np.abs(want[key]).max()))
    np.testing.assert_allclose(got[key], want[key], rtol=rtol, atol=rtol * scale,
                               err_msg=key)


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("arch", [_ring, _dcgan], ids=["ring_mlp", "dcgan"])
def test_sgd_steps_equal_tf2(plugins_loaded, tmp_path, arch, rule):
  # classic: the form the TF1 graph computes (the TF2 forms agree to 1e-6, see
  # test_rule_equivalence.py); it also makes D's BatchNorm/u updates the same.
  config = arch(tmp_path, f"train.rule={rule}", "train.one_step_form=classic")
  start, want, got = _train_both(config)
  _assert_close(got, want, 1e-5)
  moved = max(np.abs(want[k] - start[k]).max() for k in want if k.startswith("G/"))
  assert moved > 1e-4, "G must move, else the comparison proves nothing"
