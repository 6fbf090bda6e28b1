"""`--verify` on every built-in loss family with the shipped networks.

The networks of ring8, grid25 and mnist_dcgan are built once each, full size,
and every built-in loss family is checked on them with one small batch (the
same `verify.check` the CLI prints). No false alarm: float32 rounding where the
classic form's two G terms cancel is within the scaled tolerance. Real
non-determinism (dropout, a loss that draws random numbers) still fails at a
relative error of 0.1 or more, with the likely cause.
"""

import pytest

from tests.conftest import ROOT, VERIFIED, verified
from tfgan1.engine import assembly as build
from tfgan1 import config as config_lib
from tfgan1 import registry
from tfgan1.engine import verify
from tfgan1.engine.trainer import Trainer
from tfgan1.errors import UserError

tf = build.tf
CONFIGS = ["ring8", "grid25", "mnist_dcgan"]


def _built_in_losses():
  # acgan and d2dce read their D heads' extra outputs, which these networks lack:
  # test_modern_regularisers and test_contrastive_loss verify them with their heads.
  keys = [k for k in registry.LOSSES.keys()
          if registry.LOSSES.get(k).__module__.startswith("tfgan1.plugins.")
          and k not in ("acgan", "d2dce")]
  specs = [config_lib.PluginSpec(k) for k in keys]
  specs.append(config_lib.PluginSpec("relativistic_average", {"form": "hinge"}))
  return specs


def _setup(name, *sets):
  """(config, trainer, real batch, noise, seed) for a shipped config, batch 4."""
  config = config_lib.load(str(ROOT / "configs" / f"{name}.yaml"),
                           ["train.batch_size=4", *sets])
  try:
    built = build.everything(config)
  except UserError as e:
    pytest.skip(f"{name} cannot be built here (its data?): {e}")
  trainer = Trainer(built.gan, config.train, built.optimizers, built.noise_fn)
  real = next(iter(built.data.dataset(4, config.seed)))
  z = built.noise_fn(tf.random.Generator.from_seed(config.seed), 4)
  return config, trainer, real, z, tf.constant([config.seed, 0], tf.int32)


@pytest.mark.parametrize("name", CONFIGS)
def test_every_built_in_loss_passes(plugins_loaded, name):
  config, trainer, real, z, seed = _setup(name)
  losses = _built_in_losses()
  assert {"hinge", "non_saturating", "minimax", "wasserstein", "least_squares",
          "relativistic", "relativistic_average"} <= {s.name for s in losses}
  for spec in losses:
    trainer.gan.family = build.loss_family(spec)
    result = verify.check(trainer, real, z, seed)
    assert result["ok"], (name, spec, result)
    pairs = result["pairs"]
    assert VERIFIED <= verified(pairs)
    # Only the classic D pair has cancelling terms; its tolerance is widened by
    # at most a few float32 ulps of their size, never to a level that hides 0.1.
    for pair, r in pairs.items():
      assert r["relative"] <= r["tolerance"] < 1e-3, (name, spec, pair, r)
      if pair != "one_step_classic_vs_simultaneous/discriminator":
        assert r["tolerance"] == verify.TOLERANCE


def test_tolerance_scales_with_the_cancelling_terms():
  pair = "one_step_classic_vs_simultaneous/discriminator"
  eps = 2.0 ** -23
  assert verify.tolerance(pair, 1.0, 0.0) == verify.TOLERANCE
  assert verify.tolerance(pair, 0.5, 2.0) == pytest.approx(
      verify.TOLERANCE + verify.CANCEL_ULPS * eps * 4.0)
  assert verify.tolerance("one_step_stateless_vs_simultaneous/discriminator", 0.5, 2.0) \
      == verify.TOLERANCE
  import numpy as np  # a wider dtype (a mixed policy) widens it further
  assert verify.tolerance(pair, 1.0, 1.0, np.float16) > verify.tolerance(pair, 1.0, 1.0)


def test_dropout_still_fails(plugins_loaded):
  _, trainer, real, z, seed = _setup("ring8", "discriminator.dropout=0.5")
  result = verify.check(trainer, real, z, seed)
  assert not result["ok"] and result["worst_relative"] >= 0.1
  assert "dropout" in result["likely_cause"]
  # One D call per step (fused, shared) shares one dropout draw: those stay exact.
  exact = result["exact"]
  assert exact["one_step_fused"] and exact["one_step_shared"] and exact["simultaneous_again"]
  assert not exact["one_step_classic"] and not exact["one_step_stateless"]
  assert "differ: extragradient_lookahead, one_step_classic, one_step_stateless" in result["likely_cause"]
  layers = verify.random_layers(trainer.gan.discriminator)
  assert len(layers) == 3 and all(n.startswith("dropout") for n in layers), layers


@pytest.mark.parametrize("form,code", [("classic", 1)])  # fused, exit 0: test_cli_run
def test_dropout_verify_exits_by_the_run_form(plugins_loaded, capsys, form, code):
  config = config_lib.load(str(ROOT / "configs" / "ring8.yaml"), [
      "train.batch_size=4", "discriminator.dropout=0.5", f"train.one_step_form={form}",
      "generator.hidden=[16]", "discriminator.hidden=[16]"])
  assert verify.main(config) == code
  import json
  result = json.loads(capsys.readouterr().out)
  assert result["run_variant"] == f"one_step_{form}" and not result["ok"]


@pytest.mark.parametrize("form,verdict", [("classic", "is not: D's gradient is not L_D's"),
                                          ("fused", "is one of them")])
def test_training_with_dropout_in_d_warns(plugins_loaded, caplog, form, verdict):
  """The run's start warns once, naming the forms that stay exact."""
  import types
  from tfgan1.runner import train
  config = config_lib.load(str(ROOT / "configs" / "ring8.yaml"), [
      "discriminator.dropout=0.5", f"train.one_step_form={form}",
      "generator.hidden=[16]", "discriminator.hidden=[16]"])
  gan = build.networks(config, build.dataset(config).spec)
  train._warn_random_discriminator(types.SimpleNamespace(config=config, networks=gan))
  warned = [r.getMessage() for r in caplog.records if "random numbers" in r.getMessage()]
  assert len(warned) == 1 and warned[0].startswith("discriminator: dropout"), warned
  assert ("draw new random numbers on every call; of the one-step forms only fused and "
          f"shared (one D call per step) stay exact, and this run's form {form!r} {verdict}"
          in warned[0])


class _RandomLoss:
  """A loss whose value changes from call to call: never one-step compatible."""

  def discriminator_loss(self, real_logits, fake_logits):
    return tf.reduce_mean(tf.nn.softplus(-real_logits) + tf.nn.softplus(fake_logits))

  def generator_loss(self, fake_logits, real_logits):
    del real_logits
    noise = tf.random.uniform(tf.shape(fake_logits), 0.0, 2.0)
    return tf.reduce_mean(tf.nn.softplus(-fake_logits) * noise)


def test_random_loss_still_fails(plugins_loaded):
  _, trainer, real, z, seed = _setup("ring8")
  assert verify.random_layers(trainer.gan.discriminator) == []
  trainer.gan.family = _RandomLoss()
  result = verify.check(trainer, real, z, seed)
  assert not result["ok"] and result["worst_relative"] >= 0.1
  assert "changes between calls" in result["likely_cause"]
