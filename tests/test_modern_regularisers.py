"""Generator penalties (side "g") and the regularisers of issue 33.

A G penalty joins L_G: in every rule D's gradient must be what it is without
it and G's must move; `--verify` must pass, and a G penalty that reads D's
weights without stop-gradient must fail it.
"""
import numpy as np
import pytest

from tests.conftest import SHARED_MNIST
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
  result = verify.report(grads, verify.cancelling_scale(trainer, real, z))  # = --verify
  assert result["ok"], result
  # alternating: its G update's gradient is the simultaneous rule's (same weights)
  alt_d, alt_g, _ = trainer.rule_for("alternating").gradients(real, z, SEED)
  assert _max_diff(alt_g, grads["simultaneous"][1]) < 1e-6
  assert _max_diff(alt_d, grads["simultaneous"][0]) < 1e-6


def _forms_agree(trainer, real, z, forms, ok=True):
  """`--verify`'s comparison for some one-step forms only (the full one: above)."""
  grads = {"simultaneous": trainer.rule_for("simultaneous").gradients(real, z, SEED)[:2]}
  one_step = trainer.rule_for("one_step")
  for form in forms:
    grads[form] = one_step._unscaled(real, z, SEED, form)  # pylint: disable=protected-access
  numpy = {k: ([g.numpy() for g in d], [g.numpy() for g in g_]) for k, (d, g_) in grads.items()}
  result = verify.report(numpy)
  assert result["ok"] == ok, result
  return result


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
  wrong = _forms_agree(trainer, real, z, ("classic", "fused"), ok=False)
  for form in ("classic", "fused"):
    assert wrong["pairs"][f"{form}_vs_simultaneous/discriminator"]["relative"] > 1e-2
    assert wrong["pairs"][f"{form}_vs_simultaneous/generator"]["relative"] < 1e-5
  trainer.gan.penalties = [_d_reading_penalty(trainer, frozen=True)]
  _forms_agree(trainer, real, z, ("classic", "fused"))


class _Reporter:
  """A G penalty with a report and state (the shape path-length regularisation
  needs: a running mean moved by what the lazy step measured)."""
  side = "g"
  reports = ("mean_output",)

  def __init__(self):
    self.state = {"seen": tf.Variable(0.0)}

  def __call__(self, generator, z, seed):
    mean = tf.reduce_mean(g_penalties.generate(generator, z))
    return tf.square(mean), {"mean_output": mean}

  def after_step(self, metrics, ok):
    self.state["seen"].assign(tf.where(ok, metrics["penalty/reporter/mean_output"],
                                       self.state["seen"]))


def test_g_penalty_lazy_every_reports_and_state(plugins_loaded):
  trainer, real, z = _trainer(["penalties=[{name: orthogonal, weight: 0.5, every: 2}]"])
  trainer.gan.penalties.append(PenaltyTerm("reporter", _Reporter(), 1.0, 2, side="g"))
  one_step = trainer.rule_for("one_step")
  _, _, metrics = one_step.gradients(real, z, SEED)
  assert float(metrics["penalty/orthogonal"]) > 0
  mean = float(metrics["penalty/reporter/mean_output"])
  assert float(metrics["penalty/reporter"]) == pytest.approx(mean ** 2) and mean != 0
  trainer.finish(metrics, tf.constant(True))  # step 0 -> 1; after_step reads the report
  assert float(trainer.gan.penalties[1].fn.state["seen"]) == pytest.approx(mean)
  _, _, metrics = one_step.gradients(real, z, SEED)  # step 1: not a multiple of `every`
  assert float(metrics["penalty/orthogonal"]) == 0.0
  assert float(metrics["penalty/reporter/mean_output"]) == 0.0
  assert "seen" in trainer.gan.state()
  alternating = trainer.rule_for("alternating").gradients(real, z, SEED)[2]
  assert {"penalty/reporter", "penalty/reporter/mean_output"} <= set(alternating)


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


def test_lecam_and_zcr_verify_and_lecam_is_checkpointed(plugins_loaded, tmp_path):
  from tfgan1.backends.protocol import checkpoint_parts
  trainer, real, z = _trainer(["penalties=[{name: lecam, weight: 2.0, start: 0}, "
                               "{name: zcr, weight: 5.0, sigma: 0.3}, "
                               "{name: zcr_g, weight: 0.5, sigma: 0.3}]"])
  assert [t.side for t in trainer.gan.penalties] == ["d", "d", "g"]
  lecam = trainer.gan.penalties[0].fn
  lecam.state["lecam_anchor_real"].assign(0.3)  # anchors that bind
  lecam.state["lecam_anchor_fake"].assign(-0.2)
  assert verify.check(trainer, real, z, SEED)["ok"]
  # Trainer.finish, which every rule's update ends with, moves the anchors.
  metrics = trainer.finish(trainer.rule.gradients(real, z, SEED)[2], tf.constant(True))
  assert float(metrics["penalty/lecam"]) > 0 and float(metrics["penalty/zcr"]) > 0
  assert float(metrics["penalty/zcr_g"]) < 0
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


# ADA (Karras et al. 2020).

def _rgb(n=4, size=6, seed=0):
  return tf.constant(np.random.default_rng(seed).uniform(-1, 1, [n, size, size, 3]),
                     tf.float32)


def test_ada_ops_golden():
  from tfgan1.gan import ada_ops
  x = _rgb()
  flipped = ada_ops.xflip(x, SEED).numpy()
  turned = ada_ops.rotate90(x, SEED).numpy()
  for i in range(4):  # each image is itself or its mirror / one of its 4 quarter turns
    assert any(np.array_equal(flipped[i], c) for c in (x[i].numpy(), x[i].numpy()[:, ::-1]))
    assert any(np.array_equal(turned[i], np.rot90(x[i].numpy(), k)) for k in range(4))
  grey = lambda t: np.mean(np.asarray(t), axis=3, keepdims=True)
  chroma = lambda t: np.asarray(t) - grey(t)
  norm = lambda t: np.linalg.norm(chroma(t), axis=3)
  # hue: a rotation about the grey axis keeps grey level and colourfulness.
  hued = ada_ops.hue(x, SEED)
  np.testing.assert_allclose(grey(hued), grey(x), atol=1e-5)
  np.testing.assert_allclose(norm(hued), norm(x), rtol=1e-4, atol=1e-5)
  assert np.abs(hued - x).max() > 1e-2
  # saturation: grey kept, chroma scaled by one factor per image.
  sat = ada_ops.saturation(x, SEED)
  np.testing.assert_allclose(grey(sat), grey(x), atol=1e-5)
  ratio = chroma(sat) / chroma(x)
  np.testing.assert_allclose(ratio, np.broadcast_to(ratio[:, :1, :1, :1], ratio.shape), rtol=1e-3)
  # lumaflip: grey negated or kept, chroma kept.
  flip = ada_ops.lumaflip(x, SEED)
  np.testing.assert_allclose(chroma(flip), chroma(x), atol=1e-5)
  assert np.allclose(np.abs(grey(flip)), np.abs(grey(x)), atol=1e-5)
  # brightness adds and contrast scales one number per image; 1-channel images
  # pass the RGB-only ops unchanged.
  b = (ada_ops.brightness(x, SEED) - x).numpy()
  np.testing.assert_allclose(b, np.broadcast_to(b[:, :1, :1, :1], b.shape), atol=1e-6)
  c = (ada_ops.contrast(x, SEED) / x).numpy()
  np.testing.assert_allclose(c, np.broadcast_to(c[:, :1, :1, :1], c.shape), rtol=1e-4)
  mono = x[..., :1]
  for op in (ada_ops.hue, ada_ops.saturation):
    np.testing.assert_array_equal(op(mono, SEED), mono)


def test_ada_colour_ops_on_one_channel_follow_the_reference():
  # NVlabs/stylegan2-ada-pytorch training/augment.py (375a436), 1-channel branch:
  # C = C[:, :3, :].mean(dim=1); images * C[:, :, :3].sum(dim=2) + C[:, :, 3:].
  from tfgan1.gan import ada_ops
  v = np.array([1.0, 1.0, 1.0, 0.0]) / np.sqrt(3.0)
  def one_channel(c, x):
    rows = c[:3, :].mean(axis=0)
    return x * rows[:3].sum() + rows[3]
  x = tf.random.stateless_normal([16, 4, 4, 1], [5, 6])
  flipped = ada_ops.lumaflip(x, SEED).numpy()
  kinds = set()
  for k in range(16):
    flip = not np.allclose(flipped[k], x[k].numpy())
    kinds.add(flip)
    want = one_channel(np.eye(4) - 2.0 * np.outer(v, v) * flip, x[k].numpy())
    np.testing.assert_allclose(flipped[k], want, atol=1e-6)
  assert kinds == {True, False}  # both coins drawn among 16 images


def test_ada_p_follows_the_sign_of_d_on_reals():
  from tfgan1.gan.augment import AdaptiveAugment
  # batch 8 x interval 4 / (kimg 0.32 x 1000): p moves by 0.1 per interval.
  ada = AdaptiveAugment("xflip,noise", 0.0, 8, 0.6, 0.32, 4)
  assert ada.speed == pytest.approx(0.1)
  assert AdaptiveAugment("xflip", 0.0, 64, 0.6, 500, 4).speed == pytest.approx(64 * 4 / 5e5)
  ps = []
  for sign in [0.8, 0.9, 0.7, 0.8] + [0.2, 0.1, 0.3, 0.2] + [0.9] * 4:
    out = ada.after_step({"ada_real_sign": tf.constant(sign)}, tf.constant(True))
    ps.append(round(float(out["augment_p"]), 6))
  assert ps == [0.0, 0.0, 0.0, 0.1, 0.1, 0.1, 0.1, 0.0, 0.0, 0.0, 0.0, 0.1]
  ada.after_step({"ada_real_sign": tf.constant(np.nan)}, tf.constant(False))  # skipped
  assert float(ada.state["ada_sign_steps"]) == 0.0
  assert float(ada.state["ada_p"]) == pytest.approx(0.1)
  x = _rgb(n=64)
  ada.state["ada_p"].assign(0.0)  # p = 0: no image changes
  np.testing.assert_array_equal(ada(x, SEED), x)


@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason="needs ../shared/data/mnist")
def test_ada_with_bcr_lecam_orthogonal_verifies_logs_p_and_is_checkpointed(
    plugins_loaded, tmp_path):
  from tfgan1.backends.protocol import checkpoint_parts
  cfg = config_lib.from_dict({
      "data": {"name": "mnist", "path": str(SHARED_MNIST), "split": "test"},
      "generator": {"name": "dcgan", "base_channels": 4},
      "discriminator": {"name": "dcgan", "base_channels": 4},
      "loss": "hinge", "noise": {"dim": 8},
      "penalties": [{"name": "bcr", "weight": 10.0}, {"name": "lecam", "weight": 0.3},
                    {"name": "orthogonal", "weight": 1e-4}],
      "train": {"batch_size": 8, "jit_compile": False},
      "augment": {"policy": "ada", "p": 0.5, "adaptive": True, "kimg": 0.032,
                  "interval": 1}})
  built = build.everything(cfg)
  trainer = Trainer(built.gan, cfg.train, built.optimizers, built.noise_fn)
  real = next(iter(built.data.dataset(8, 0)))
  z = tf.random.stateless_normal([8, 8], seed=[1, 2])
  _forms_agree(trainer, real, z, ("classic", "stateless", "fused"))
  metrics = trainer.finish(trainer.rule.gradients(real, z, SEED)[2], tf.constant(True))
  sign = float(metrics["ada_real_sign"])
  assert float(metrics["augment_p"]) == pytest.approx(0.5 + 0.25 * np.sign(sign - 0.6))
  parts = checkpoint_parts(trainer.step, trainer.gan, trainer.optimizers, None,
                           tf.random.Generator.from_seed(0), None, trainer.guard.checkpointed())
  path = tf.train.Checkpoint(**parts).save(str(tmp_path / "ckpt"))
  assert any(n.startswith("regularisers/ada_p") for n, _ in tf.train.list_variables(path))


# Consistency regularisation (Zhao et al. 2021).

def test_bcr_golden(plugins_loaded):
  from tfgan1.plugins.penalties.consistency import BalancedConsistency
  from tfgan1.gan.augment import Augment
  x = _rgb(n=8)
  y = -0.5 * _rgb(n=8, seed=3)
  corner = lambda t: t[:, 0, 0, 0]  # D: the top-left pixel, which a flip moves
  got = float(BalancedConsistency(real=1.0, fake=0.5, policy="xflip")(corner, x, y, SEED))
  flip = Augment("xflip", 1.0)
  fold = tf.random.experimental.stateless_fold_in
  mse = lambda a, b: float(np.mean((np.asarray(a) - np.asarray(b)) ** 2))
  want = (mse(corner(x), corner(flip(x, fold(SEED, 0))))
          + 0.5 * mse(corner(y), corner(flip(y, fold(SEED, 1)))))
  assert got == pytest.approx(want, rel=1e-6) and got > 0
  symmetric = (x + tf.reverse(x, [2])) / 2  # a flip changes nothing: 0
  assert float(BalancedConsistency(policy="xflip")(corner, symmetric, symmetric, SEED)) == 0.0


def test_zcr_golden(plugins_loaded):
  from tfgan1.plugins.penalties.consistency import LatentConsistencyD, LatentConsistencyG
  noise = tf.constant(np.random.default_rng(4).normal(size=[6, 3]), tf.float32)
  dz = 0.1 * tf.random.stateless_normal([6, 3], SEED).numpy()
  # D(G(n)) = sum(n): the D term is mean((sum dz)^2).
  d_term = LatentConsistencyD(sigma=0.1)(None, None, None, SEED, noise=noise,
                                         fake_scores=lambda n: tf.reduce_sum(n, axis=1))
  assert float(d_term) == pytest.approx(np.mean(dz.sum(axis=1) ** 2), rel=1e-5)
  # G(n) = n @ W: the G term is -mean((dz @ W)^2), over every output entry.
  keras = build.keras
  inputs = keras.Input((3,))
  g = keras.Model(inputs, keras.layers.Dense(2, use_bias=False)(inputs))
  w = g.layers[-1].kernel.numpy()
  g_term = LatentConsistencyG(sigma=0.1)(g, noise, SEED)
  assert float(g_term) == pytest.approx(-np.mean((dz @ w) ** 2), rel=1e-4)


# ACGAN (Odena et al. 2017).

def test_acgan_loss_golden(plugins_loaded):
  loss = build.registry.LOSSES.get("acgan")()
  half, quarter = np.log(0.5), np.log(0.25)
  real = tf.constant([[0.0, half], [0.0, quarter]])
  fake = tf.constant([[0.0, half], [2.0, half]])
  # L_D: softplus(-0) + mean(softplus(0), softplus(2)) + CE real (ln2 + ln4)/2 + CE fake ln2.
  want_d = (np.log(2) + (np.log(2) + np.log1p(np.exp(2))) / 2
            + (np.log(2) + np.log(4)) / 2 + np.log(2))
  assert float(loss.discriminator_loss(real, fake)) == pytest.approx(want_d, rel=1e-6)
  # L_G (non-saturating): mean(softplus(-0), softplus(-2)) + CE fake ln2.
  want_g = (np.log(2) + np.log1p(np.exp(-2))) / 2 + np.log(2)
  assert float(loss.generator_loss(fake)) == pytest.approx(want_g, rel=1e-6)
  hinge = build.registry.LOSSES.get("acgan")(adversarial="hinge", class_weight=0.5)
  # hinge L_G = -mean(D(G(z))) = -1, plus 0.5 x ln2.
  assert float(hinge.generator_loss(fake)) == pytest.approx(-1.0 + 0.5 * np.log(2), rel=1e-6)
  with pytest.raises(ValueError, match=r"shape \[batch, 2\]"):
    loss.generator_loss(tf.zeros([4, 1]))
  with pytest.raises(ValueError, match="non-relativistic"):
    build.registry.LOSSES.get("acgan")(adversarial="relativistic")


@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason="needs ../shared/data/mnist")
def test_acgan_head_verifies(plugins_loaded):
  cfg = config_lib.from_dict({
      "data": {"name": "mnist", "path": str(SHARED_MNIST), "split": "test", "labels": True},
      "generator": {"name": "dcgan", "base_channels": 4, "conditional": True},
      "discriminator": {"name": "dcgan", "base_channels": 4, "conditional": True,
                        "head": "acgan"},
      "loss": {"name": "acgan", "adversarial": "hinge"}, "noise": {"dim": 8},
      "train": {"batch_size": 8, "jit_compile": False}})
  built = build.everything(cfg)
  trainer = Trainer(built.gan, cfg.train, built.optimizers, built.noise_fn)
  real = next(iter(built.data.dataset(8, 0)))
  z = built.noise_fn(tf.random.Generator.from_seed(0), 8)
  outputs = trainer.gan.d_call(*real)
  assert outputs.shape == (8, 2) and float(tf.reduce_max(outputs[:, 1])) <= 0.0  # log p
  _forms_agree(trainer, real, z, ("classic", "fused"))


def test_acgan_without_its_head_is_one_line(plugins_loaded):
  with pytest.raises(UserError, match=r"^loss: 'acgan' cannot read the outputs of "
                     r"discriminator 'mlp': .*shape \[batch, 2\]"):
    _trainer(["loss.name=acgan"])


def test_tf1_graph_refuses_what_it_would_ignore_or_cannot_hold(plugins_loaded):
  from tfgan1.backends.tf1_graph import checks
  base = {"data": "ring8", "generator": "mlp", "discriminator": "mlp", "loss": "hinge",
          "train": {"backend": "tf1_graph"}}
  with pytest.raises(UserError, match=r"^penalties\[0\].name: 'lecam' is not supported"):
    checks.check(config_lib.from_dict({**base, "penalties": [{"name": "lecam"}]}))
  with pytest.raises(UserError, match=r"^augment: .* is not supported with train.backend=tf1_graph"):
    checks.check(config_lib.from_dict({**base, "augment": {"policy": "ada", "adaptive": True}}))


def test_acgan_refuses_top_k(plugins_loaded):
  acgan = build.registry.LOSSES.get("acgan")()
  with pytest.raises(UserError, match=r"^train.g_top_k: 0.5 is not allowed with loss "
                     r"'acgan', which reads several D outputs per sample; must be 1.0$"):
    build.g_top_k(0.5, acgan, "acgan")
  assert build.g_top_k(1.0, acgan, "acgan") == 1.0
