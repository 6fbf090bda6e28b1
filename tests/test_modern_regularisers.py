"""Generator penalties (side "g") and the regularisers of issue 33.

A G penalty joins L_G: in every rule D's gradient must be what it is without
it and G's must move; `--verify` must pass, and a G penalty that reads D's
weights without stop-gradient must fail it.
"""
import numpy as np
import pytest

from tfgan1 import config as config_lib
from tfgan1.engine import assembly as build
from tfgan1.engine import verify
from tfgan1.engine.trainer import Trainer
from tfgan1.errors import UserError
from tfgan1.gan import discriminator_calls
from tfgan1.gan.networks import PenaltyTerm
from tfgan1.plugins.penalties import generator as g_penalties

tf = build.tf
SEED = tf.constant([3, 4], tf.int32)
ONE_STEP = ("one_step_classic", "one_step_stateless", "one_step_fused", "one_step_shared")


def _trainer(overrides=(), rule="one_step"):
  """A tiny grid25 MLP GAN (8 units), batch 16."""
  raw = {"generator": {"name": "mlp", "hidden": [8]},
         "discriminator": {"name": "mlp", "hidden": [8]},
         "loss": "hinge", "data": "grid25", "noise": {"dim": 4},
         "train": {"batch_size": 16, "rule": rule, "jit_compile": False}}
  cfg = config_lib.from_dict(raw, list(overrides))
  built = build.everything(cfg)
  trainer = Trainer(built.gan, cfg.train, built.optimizers, built.noise_fn)
  real = next(iter(built.data.dataset(16, 0)))
  z = tf.random.stateless_normal([16, 4], seed=[1, 2])
  return trainer, real, z


def _same_weights(target, source):
  target.gan.generator.set_weights(source.gan.generator.get_weights())
  target.gan.discriminator.set_weights(source.gan.discriminator.get_weights())


def _max_diff(a, b):
  return max(float(np.abs(x - y).max()) for x, y in zip(a, b))


@pytest.fixture(scope="module")
def plain(plugins_loaded):
  trainer, real, z = _trainer()
  return trainer, real, z, verify.rule_gradients(trainer, real, z, SEED)


def test_g_penalty_moves_only_g_in_every_rule(plain):
  base, real, z, base_grads = plain
  trainer, _, _ = _trainer(["penalties=[{name: orthogonal, weight: 0.5}]"])
  _same_weights(trainer, base)
  assert [t.side for t in trainer.gan.penalties] == ["g"]
  grads = verify.rule_gradients(trainer, real, z, SEED)
  assert {"simultaneous", "extragradient_lookahead", *ONE_STEP} <= set(grads)
  for name in ("simultaneous",) + ONE_STEP:
    assert _max_diff(grads[name][0], base_grads[name][0]) < 1e-6, name  # D unchanged
    assert _max_diff(grads[name][1], base_grads[name][1]) > 1e-3, name  # G moved
  result = verify.check(trainer, real, z, SEED)
  assert result["ok"], result
  # alternating: its G update's gradient is the simultaneous rule's (same weights)
  alt_d, alt_g, _ = trainer.rule_for("alternating").gradients(real, z, SEED)
  assert _max_diff(alt_g, grads["simultaneous"][1]) < 1e-6
  assert _max_diff(alt_d, grads["simultaneous"][0]) < 1e-6


def _d_reading_penalty(trainer, frozen):
  """A G penalty that scores G(z) with D: through stop-gradient weights or not."""
  d = trainer.gan.discriminator

  def penalty(generator, z, seed):
    del seed
    fake = g_penalties.generate(generator, z)
    logits = (discriminator_calls.frozen_discriminator_call(d, fake) if frozen
              else d(fake, training=True))
    return tf.reduce_mean(tf.square(logits))
  return PenaltyTerm("d_reader", penalty, 1.0, 1, side="g")


def test_g_penalty_reading_d_weights_fails_verify(plugins_loaded):
  trainer, real, z = _trainer()
  trainer.gan.penalties = [_d_reading_penalty(trainer, frozen=False)]
  wrong = verify.check(trainer, real, z, SEED)
  assert not wrong["ok"]
  assert wrong["pairs"]["one_step_fused_vs_simultaneous/discriminator"]["relative"] > 1e-2
  trainer.gan.penalties = [_d_reading_penalty(trainer, frozen=True)]
  assert verify.check(trainer, real, z, SEED)["ok"]


def test_g_penalty_lazy_every_and_metrics(plugins_loaded):
  trainer, real, z = _trainer(["penalties=[{name: orthogonal, weight: 0.5, every: 2}]"])
  one_step = trainer.rule_for("one_step")
  _, _, metrics = one_step.gradients(real, z, SEED)
  assert float(metrics["penalty/orthogonal"]) > 0
  trainer.step.assign(1)  # not a multiple of `every`: the term is off
  _, _, metrics = one_step.gradients(real, z, SEED)
  assert float(metrics["penalty/orthogonal"]) == 0.0


def test_bad_side_is_refused():
  class Odd:
    side = "both"

    def __call__(self, d_call, real, fake, seed):
      return 0.0
  with pytest.raises(UserError, match=r"penalties\[0\]: penalty plugin 'odd' declares "
                     r"side 'both'; allowed: 'd', 'g'"):
    build.penalty_side("penalties[0]", "odd", Odd())


# Orthogonal regularisation (BigGAN, Brock et al. 2019, Eq. 3).

def test_orthogonal_golden(plugins_loaded):
  # K = [[1, 0], [1, 1]]: K^T K = [[2, 1], [1, 1]], off-diagonal 1 and 1 -> 2.
  k = tf.Variable([[1.0, 0.0], [1.0, 1.0]])
  assert float(g_penalties.off_diagonal_gram(g_penalties.kernel_matrix(k))) == 2.0
  rng = np.random.default_rng(0)
  w = rng.normal(size=(3, 3, 4, 5)).astype(np.float32)  # a Conv2D kernel
  var = tf.Variable(w)
  with tf.GradientTape() as tape:
    value = g_penalties.off_diagonal_gram(g_penalties.kernel_matrix(var))
  grad = tape.gradient(value, var).numpy()
  # BigGAN-PyTorch utils.ortho (ajbrock/BigGAN-PyTorch, as in PyTorch-StudioGAN
  # utils/biggan_utils.py): w = param.view(shape[0], -1) with PyTorch's [out, ...]
  # layout, grad = 2 * (w w^T * (1 - I)) w; here that w is K^T, K = [36, 5].
  k = w.reshape(-1, 5)
  gram = k.T @ k
  np.testing.assert_allclose(float(value), np.sum((gram * (1 - np.eye(5))) ** 2), rtol=1e-5)
  torch_grad = 2 * ((k.T @ k) * (1 - np.eye(5))) @ k.T  # [5, 36]
  np.testing.assert_allclose(grad.reshape(-1, 5), 2 * torch_grad.T, rtol=1e-4, atol=1e-3)


def test_orthogonal_skips_vectors_and_embeddings(plugins_loaded):
  keras = build.keras
  noise, labels = keras.Input((3,)), keras.Input((), dtype="int32")
  emb = keras.layers.Embedding(4, 3)(labels)
  out = keras.layers.Dense(2)(keras.layers.Concatenate()([noise, emb]))
  g = keras.Model([noise, labels], out)
  kernel = g.layers[-1].kernel
  want = float(g_penalties.off_diagonal_gram(g_penalties.kernel_matrix(kernel)))
  got = float(build.registry.PENALTIES.get("orthogonal")()(g, None, SEED))
  assert got == pytest.approx(want, rel=1e-6)
  everything = float(build.registry.PENALTIES.get("orthogonal")(skip=[])(g, None, SEED))
  assert everything > got


# LeCam (Tseng et al. 2021).

class _ReferenceEma:
  """google/lecam-gan third_party/utils.py `ema_losses` (commit db6debc0), the
  two fields LeCam reads, in plain Python."""

  def __init__(self, decay, start_itr, init=1000.0):
    self.d_real = self.d_fake = init
    self.decay, self.start_itr = decay, start_itr

  def update(self, real, fake, itr):
    decay = 0.0 if itr < self.start_itr else self.decay
    self.d_real = self.d_real * decay + real * (1 - decay)
    self.d_fake = self.d_fake * decay + fake * (1 - decay)


def _reference_lecam(real, fake, ema):
  """google/lecam-gan biggan_cifar/losses.py `lecam_reg` (commit db6debc0)."""
  return (np.mean(np.maximum(real - ema.d_fake, 0) ** 2)
          + np.mean(np.maximum(ema.d_real - fake, 0) ** 2))


def test_lecam_golden_over_steps(plugins_loaded):
  from tfgan1.plugins.penalties.lecam import LeCam
  lecam, ref = LeCam(decay=0.9, start=2), _ReferenceEma(0.9, 2)
  rng = np.random.default_rng(1)
  identity = lambda x: x  # D's logits are the inputs themselves
  values = []
  for itr in range(5):
    real = rng.normal(0.5, 1.0, [8, 1]).astype(np.float32)
    fake = rng.normal(-0.5, 1.0, [8, 1]).astype(np.float32)
    got = float(lecam(identity, tf.constant(real), tf.constant(fake), SEED))
    ref.update(float(real.mean()), float(fake.mean()), itr)  # the reference moves first
    want = _reference_lecam(real, fake, ref)
    assert got == pytest.approx(want, rel=1e-5), itr
    values.append(got)
    lecam.after_step({"d_real": tf.constant(real.mean()), "d_fake": tf.constant(fake.mean())},
                     tf.constant(True))
    assert float(lecam.state["lecam_anchor_real"]) == pytest.approx(ref.d_real, rel=1e-5)
  lecam.after_step({"d_real": tf.constant(np.nan), "d_fake": tf.constant(np.nan)},
                   tf.constant(False))  # a skipped step leaves the anchors
  assert float(lecam.state["lecam_anchor_fake"]) == pytest.approx(ref.d_fake, rel=1e-5)
  assert int(lecam.state["lecam_updates"]) == 5
  # Hand check of Eq. 3 on two samples: relu(1 - 0.5)^2, relu(0.2 - 0.4)^2 -> 0.125 + 0.
  from tfgan1.plugins.penalties.lecam import lecam_value
  assert float(lecam_value([1.0, 0.0], [0.4, 0.4], 0.2, 0.5)) == pytest.approx(0.125)


def test_lecam_verifies_and_is_checkpointed(plugins_loaded, tmp_path):
  from tfgan1.backends.protocol import checkpoint_parts
  trainer, real, z = _trainer(["penalties=[{name: lecam, weight: 2.0, start: 0}]"])
  lecam = trainer.gan.penalties[0].fn
  lecam.state["lecam_anchor_real"].assign(0.3)  # anchors that bind
  lecam.state["lecam_anchor_fake"].assign(-0.2)
  assert verify.check(trainer, real, z, SEED)["ok"]
  metrics = trainer.update_on([real], tf.random.Generator.from_seed(0))
  assert float(metrics["penalty/lecam"]) > 0
  want = 0.99 * 0.3 + 0.01 * float(metrics["d_real"])
  assert float(lecam.state["lecam_anchor_real"]) == pytest.approx(want, rel=1e-5)
  parts = checkpoint_parts(trainer.step, trainer.gan, trainer.optimizers, None,
                           tf.random.Generator.from_seed(0), None, trainer.guard.checkpointed())
  path = tf.train.Checkpoint(**parts).save(str(tmp_path / "ckpt"))
  lecam.state["lecam_anchor_real"].assign(5.0)
  tf.train.Checkpoint(**parts).restore(path).assert_existing_objects_matched()
  assert float(lecam.state["lecam_anchor_real"]) == pytest.approx(want, rel=1e-5)
  names = [n for n, _ in tf.train.list_variables(path)]
  assert any(n.startswith("regularisers/lecam_anchor_fake") for n in names), names
