"""The `shared` one-step form: one backward pass through D(G(z)) for both losses.

Its gradients must equal the simultaneous rule's (to 1e-6) also where L_D's
upstream is 0 (hinge past its margin), and a D it would get wrong (batch-coupled)
is refused. That it runs fewer products than `fused` is measured on the running
step, by the profiler (tests/test_bench.py, `ops`).
"""
import numpy as np
import pytest

from tests.conftest import RING8
from tests.test_rule_equivalence import _assert_equivalent, _trainer
from tfgan1.engine import assembly as build
from tfgan1.gan import discriminator_calls as routing
from tfgan1.errors import UserError
from tfgan1.engine.verify import rule_gradients

tf, keras = build.tf, build.keras
SEED = tf.constant([3, 4], tf.int32)


def _fake_logits(trainer, z):
  fake, _ = trainer.gan.g_call(z)
  return trainer.gan.d_call(fake).numpy().ravel()


@pytest.mark.parametrize("pack", [1, 2])
def test_hinge_past_its_margin(plugins_loaded, pack):
  """D's bias moved so that about half the fakes score below -1, where hinge's
  L_D gradient is 0: the pass then runs on EPSILON * v for those samples."""
  trainer, real, z = _trainer([f"discriminator.pack={pack}"])
  bias = trainer.gan.discriminator.trainable_variables[-1]
  bias.assign_add([-1.0 - np.median(_fake_logits(trainer, z))])
  logits = _fake_logits(trainer, z)
  assert 0.25 < np.mean(logits < -1.0) < 0.75
  grads = _assert_equivalent(trainer, real, z, forms=("one_step_shared",))
  assert max(np.abs(g).max() for g in grads["simultaneous"][1]) > 1e-3


def test_shared_upstream_keeps_u_where_it_can():
  u = tf.constant([0.5, 0.0, 1e-14, 0.0, -2.0])
  v = tf.constant([-1.0, -1.0, -1.0, 0.0, 3.0])
  got = routing.shared_upstream(u, v).numpy()
  np.testing.assert_array_equal(got, [0.5, -routing.EPSILON, -routing.EPSILON, 0.0, -2.0])
  x_grad = tf.reshape(tf.range(10.0), [5, 2]) * got[:, None]
  np.testing.assert_allclose(routing.rescaled(x_grad, got, v).numpy(),
                             tf.reshape(tf.range(10.0), [5, 2]).numpy() * v.numpy()[:, None])


def test_batch_norm_discriminator_is_refused(plugins_loaded):
  trainer, _, z = _trainer([], d_norm="batch_norm")
  fake, _ = trainer.gan.g_call(z)
  with pytest.raises(UserError, match=r"train.one_step_form: 'shared' needs .* moves a logit"):
    routing.check_per_sample(trainer.gan.discriminator, fake)


def test_per_sample_and_packed_discriminators_pass(plugins_loaded):
  for pack in (1, 2, 4):
    trainer, _, z = _trainer([f"discriminator.pack={pack}"])
    fake, _ = trainer.gan.g_call(z)
    routing.check_per_sample(trainer.gan.discriminator, fake)


def _keras_d(fn):
  x = keras.Input([2])
  return keras.Model(x, keras.layers.Lambda(fn)(keras.layers.Dense(3)(x)))


@pytest.mark.parametrize("fn,message", [
    (lambda h: h, r"gives 96 logits for a batch of 32"),  # 3 logits per sample
    (lambda h: h[:, :1] - tf.reduce_mean(h[:, :1]), r"moves a logit"),  # minibatch mean
    (lambda h: tf.reshape(tf.transpose(tf.reshape(h[:, :1], [2, 16])), [16, 2])[:, :1]
     + tf.reshape(tf.transpose(tf.reshape(h[:, :1], [2, 16])), [16, 2])[:, 1:],
     r"moves a logit"),  # strided packing: sample i with sample i + 16
])
def test_other_layouts_are_refused(fn, message):
  fake = tf.random.stateless_normal([32, 2], seed=[1, 2])
  with pytest.raises(UserError, match=message):
    routing.check_per_sample(_keras_d(fn), fake)


def test_run_refuses_batch_norm_d_before_writing(plugins_loaded, tmp_path):
  """In-process through tfgan1.api, exactly what the CLI runs; that the CLI turns a
  UserError into one `error:` line with exit code 2 is tests/test_bad_inputs.py's."""
  from tfgan1 import api
  workdir = tmp_path / "run"
  config = api.load_config(RING8, [
      "train.one_step_form=shared", "discriminator.norm=batch_norm", "train.steps=5"])
  with pytest.raises(UserError) as info:
    api.train_and_evaluate(config, str(workdir))
  assert "\n" not in str(info.value) and "discriminator 'mlp' moves a logit" in str(info.value)
  assert not workdir.exists()


def test_float16_keeps_two_passes(plugins_loaded):
  """Under mixed_float16 `shared` makes fused's two passes: the same gradients, bit for bit."""
  try:
    trainer, real, z = _trainer(["precision.name=mixed_float16"])
    grads = rule_gradients(trainer, real, z, SEED)
  finally:
    keras.mixed_precision.set_dtype_policy("float32")
  for net in (0, 1):
    for a, b in zip(grads["one_step_shared"][net], grads["one_step_fused"][net]):
      np.testing.assert_array_equal(a, b)


def test_verify_leaves_shared_out_for_a_batch_coupled_d(plugins_loaded):
  """--verify compares shared only where it applies: a BatchNorm D still passes."""
  trainer, real, z = _trainer([], d_norm="batch_norm")
  grads = rule_gradients(trainer, real, z, SEED)
  assert "one_step_shared" not in grads and "one_step_fused" in grads
  per_sample, _, _ = _trainer([])
  assert "one_step_shared" in rule_gradients(per_sample, real, z, SEED)


@pytest.mark.parametrize("backend", ["tf2", "tf1_graph"])
def test_build_checks_d_only_where_shared_runs(plugins_loaded, backend):
  """tf1_graph computes the classic form whatever one_step_form says: no refusal there."""
  from tfgan1 import config as config_lib
  raw = {"generator": {"name": "mlp", "hidden": [16]},
         "discriminator": {"name": "mlp", "hidden": [16], "norm": "batch_norm"},
         "loss": "hinge", "data": "grid25", "noise": {"dim": 4},
         "train": {"batch_size": 32, "one_step_form": "shared", "backend": backend}}
  config = config_lib.from_dict(raw)
  from tfgan1 import backends
  if backend == "tf2":
    with pytest.raises(UserError, match="discriminator 'mlp' moves a logit"):
      backends.make(config)
  else:
    assert backends.make(config).step() == 0
