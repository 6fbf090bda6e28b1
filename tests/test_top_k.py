"""`train.g_top_k`: G's loss reads only the fakes D scores highest (Sinha et al. 2020).

The selection must drop exactly the lowest-scored fakes from G's gradient, keep
every one-step form equal to the simultaneous rule, and reach the TF1 graph mode
and the Keras API, which build their networks apart from the CLI.
"""
import types

import numpy as np
import pytest

from tfgan1.engine import assembly as build

from tfgan1.output import console

from tfgan1.gan import networks
from tfgan1 import config as config_lib
from tfgan1.errors import UserError
from tfgan1.engine.verify import rule_gradients
from tests import test_tf1_graph
from tests.test_rule_equivalence import _assert_equivalent, _trainer

tf = build.tf


@pytest.mark.parametrize("shape", [[8], [8, 1]])
def test_top_k_logits_static_and_unknown_batch(shape):
  logits = tf.reshape(tf.constant([0.5, -2.0, 3.0, 1.0, -1.0, 2.0, 0.0, -3.0]), shape)
  np.testing.assert_array_equal(networks.top_k_logits(logits, 0.75).numpy(),
                                [3.0, 2.0, 1.0, 0.5, 0.0, -1.0])  # ceil(0.75 * 8) = 6
  np.testing.assert_array_equal(networks.top_k_logits(logits, 0.01).numpy(), [3.0])
  unknown = tf.function(lambda x: networks.top_k_logits(x, 0.3),
                        input_signature=[tf.TensorSpec([None] + shape[1:], tf.float32)])
  np.testing.assert_array_equal(unknown(logits).numpy(), [3.0, 2.0, 1.0])


def test_the_lowest_scored_fakes_get_no_g_gradient(plugins_loaded):
  trainer, _, z = _trainer(["train.g_top_k=0.75"])
  gan = trainer.gan
  logits = gan.d_call(gan.generator(z, training=True))  # 32 fakes: k = 24
  with tf.GradientTape() as tape:
    tape.watch(logits)
    loss = gan.generator_loss(logits, None)
  grad = tape.gradient(loss, logits).numpy().ravel()
  order = np.argsort(logits.numpy().ravel())
  np.testing.assert_array_equal(grad[order[:8]], 0.0)
  np.testing.assert_allclose(grad[order[8:]], -1.0 / 24, rtol=1e-6)  # hinge: -mean
  np.testing.assert_allclose(float(loss), -np.sort(logits.numpy().ravel())[8:].mean(),
                             rtol=1e-6)


@pytest.mark.parametrize("family,extra", [
    ("hinge", []), ("non_saturating", []), ("minimax", []), ("wasserstein", []),
    ("least_squares", []), ("hinge", ["discriminator.pack=2"])])
def test_top_k_keeps_every_form_equal_to_simultaneous(plugins_loaded, family, extra):
  plain, real, z = _trainer([f"loss.name={family}"] + extra)
  top_k, _, _ = _trainer([f"loss.name={family}", "train.g_top_k=0.75"] + extra)
  top_k.gan.generator.set_weights(plain.gan.generator.get_weights())
  top_k.gan.discriminator.set_weights(plain.gan.discriminator.get_weights())
  grads = _assert_equivalent(top_k, real, z)
  base = rule_gradients(plain, real, z, tf.constant([3, 4], tf.int32))
  for got, want in zip(grads["simultaneous"][0], base["simultaneous"][0]):  # D as before
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
  g_change = max(np.abs(a - b).max() for a, b in zip(grads["simultaneous"][1],
                                                     base["simultaneous"][1]))
  assert g_change > 1e-5, "top-k must change G's gradient"


def test_tf1_graph_mode_applies_top_k(plugins_loaded, tmp_path):
  config = test_tf1_graph._ring(tmp_path, "train.g_top_k=0.5", "train.one_step_form=classic")
  start, want, got = test_tf1_graph._train_both(config)
  test_tf1_graph._assert_close(got, want, 1e-5)
  plain = test_tf1_graph._ring(tmp_path, "train.one_step_form=classic")
  _, without, _ = test_tf1_graph._train_both(plain)
  assert max(np.abs(want[k] - without[k]).max() for k in want if k.startswith("G/")) > 1e-5


@pytest.mark.parametrize("value,message", [
    (0, "train.g_top_k: 0.0 is not allowed; must be > 0.0"),
    (1.5, "train.g_top_k: 1.5 is not allowed; must be <= 1.0")])
def test_bad_values_are_one_line_errors(value, message):
  with pytest.raises(UserError, match=f"^{message}$"):
    config_lib.from_dict({"data": "ring8"}, [f"train.g_top_k={value}"])


@pytest.mark.parametrize("loss", ["relativistic", "relativistic_average"])
def test_families_whose_g_loss_reads_real_logits_refuse_top_k(plugins_loaded, loss):
  with pytest.raises(UserError, match=f"train.g_top_k: 0.75 is not allowed with loss "
                                      f"'{loss}', whose G loss reads D"):
    _trainer([f"loss.name={loss}", "train.g_top_k=0.75"])
  import tfgan1.keras
  trainer, _, _ = _trainer([])
  with pytest.raises(UserError, match=f"with loss '{loss}'"):
    tfgan1.keras.GAN(trainer.gan.generator, trainer.gan.discriminator, loss=loss,
                     g_top_k=0.75)
  gan = tfgan1.keras.GAN(trainer.gan.generator, trainer.gan.discriminator, g_top_k=0.75)
  assert gan.networks.g_top_k == 0.75 and gan.train_config.g_top_k == 0.75


@pytest.mark.parametrize("overrides,want", [
    ([], "rule one_step (fused) | loss hinge | 1000 steps"),
    (["train.g_top_k=0.75", "penalties=[{name: r1, weight: 0.1}]"],
     "rule one_step (fused) | loss hinge + r1 | G loss on the top 0.75 of fakes | 1000 steps"),
    (["train.g_top_k=0.5", "train.rule=alternating"],
     "rule alternating | loss hinge | G loss on the top 0.5 of fakes | 1000 steps")])
def test_start_line_names_the_fraction(plugins_loaded, overrides, want):
  trainer, _, _ = _trainer(overrides + ["train.steps=1000"])
  config = config_lib.from_dict({"data": "grid25", "generator": {"name": "mlp"},
                                 "discriminator": {"name": "mlp"}, "loss": "hinge"},
                                overrides + ["train.steps=1000"])
  run = types.SimpleNamespace(config=config, networks=trainer.gan, data=None)
  lines = console.banner(run, "runs/x", None, tf)
  assert lines[-1] == want and lines[0] == "workdir runs/x: new run"
