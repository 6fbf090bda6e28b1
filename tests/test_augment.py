"""DiffAugment: each op by hand, one draw per seed, and `--verify` with its control."""
import numpy as np
import pytest

from tests.conftest import ROOT
from tfgan1.gan import augment
from tfgan1.engine import assembly as build
from tfgan1 import config as config_lib
from tfgan1.engine import verify
from tfgan1.engine.trainer import Trainer
from tfgan1.errors import UserError

tf = build.tf
MNIST = ROOT.parent / "shared" / "data" / "mnist"
SEED = tf.constant([5, 6], tf.int32)


def _images(n=6, h=8, w=8, c=3):
  return tf.constant(np.random.default_rng(0).uniform(0.1, 1.0, (n, h, w, c)), tf.float32)


def _shifted(img, dy, dx):
  out = np.zeros_like(img)
  h, w = img.shape[:2]
  for y in range(h):
    for x in range(w):
      if 0 <= y + dy < h and 0 <= x + dx < w:
        out[y, x] = img[y + dy, x + dx]
  return out


def test_translation_is_a_zero_filled_integer_shift():
  x = _images()
  out = augment.translation(x, SEED).numpy()
  shifts = set()
  for img, got in zip(x.numpy(), out):
    found = [(dy, dx) for dy in range(-1, 2) for dx in range(-1, 2)  # 0.125 * 8 = 1
             if np.array_equal(_shifted(img, dy, dx), got)]
    assert len(found) == 1
    shifts.add(found[0])
  assert len(shifts) > 1  # each image draws its own shift


def test_cutout_zeroes_one_square():
  x = _images(n=8)
  out = augment.cutout(x, SEED).numpy()
  for img, got in zip(x.numpy(), out):
    zero = np.all(got == 0, axis=-1)  # inputs are >= 0.1, so zeros are the cut
    rows, cols = np.nonzero(zero)
    assert 0 < zero.sum() <= 16  # a 4 x 4 square, clipped at the border
    assert zero.sum() == (np.ptp(rows) + 1) * (np.ptp(cols) + 1)  # one rectangle
    np.testing.assert_array_equal(got[~zero], img[~zero])


def test_color_is_affine_per_image_for_one_channel():
  """Brightness and contrast are affine per image; saturation is a no-op on one channel."""
  x = _images(c=1)
  out = augment.color(x, SEED).numpy()
  for img, got in zip(x.numpy(), out):
    a, b = np.polyfit(img.ravel(), got.ravel(), 1)
    np.testing.assert_allclose(a * img + b, got, atol=1e-5)
    assert 0.5 <= a <= 1.5 and abs(a - 1) + abs(b) > 1e-3


def test_one_draw_per_seed_and_gradients_flow():
  aug = augment.Augment("color,translation,cutout", 1.0)
  x = _images()
  np.testing.assert_array_equal(aug(x, SEED), aug(x, SEED))
  assert np.abs(aug(x, SEED) - aug(x, SEED + 1)).max() > 0.1
  with tf.GradientTape() as tape:
    tape.watch(x)
    y = tf.reduce_sum(aug(x, SEED) ** 2)
  assert np.abs(tape.gradient(y, x).numpy()).max() > 0
  np.testing.assert_array_equal(augment.Augment("color,cutout", 0.0)(x, SEED), x)
  half = augment.Augment("translation", 0.5)(_images(n=64), SEED).numpy()
  unchanged = np.mean([np.array_equal(a, b) for a, b in zip(half, _images(n=64).numpy())])
  assert 0.2 < unchanged < 0.8  # p = 0.5, and a drawn shift of (0, 0) also leaves it


@pytest.mark.parametrize("section, message", [
    ({"policy": "colour"}, "augment.policy: 'colour' is not allowed"),
    ({"policy": "color,color"}, "augment.policy: 'color,color' is not allowed"),
    ({"p": 1.5}, "augment.p: 1.5 is not allowed; must be <= 1.0"),
    ({"prob": 1.0}, "augment.prob: unknown key"),
])
def test_bad_augment_config_is_one_line(section, message):
  with pytest.raises(UserError) as e:
    config_lib.from_dict({"generator": "mlp", "discriminator": "mlp", "loss": "hinge",
                          "data": "ring8", "augment": section})
  assert str(e.value).startswith(message) and "\n" not in str(e.value)


def test_toy_data_refuses_augment(plugins_loaded):
  cfg = config_lib.from_dict({"generator": "mlp", "discriminator": "mlp", "loss": "hinge",
                              "data": "ring8", "augment": {}})
  with pytest.raises(UserError, match=r"^augment: DiffAugment needs image data .* \(2,\)$"):
    build.everything(cfg)


class _IndependentDraws:
  """The control: every call draws afresh, ignoring the step's seed."""

  def __init__(self, inner):
    self.inner = inner
    self.rng = tf.random.Generator.from_seed(9)

  def __call__(self, x, seed):
    del seed
    return self.inner(x, tf.cast(self.rng.make_seeds(1)[:, 0], tf.int32))


@pytest.mark.skipif(not MNIST.is_dir(), reason="needs ../shared/data/mnist")
def test_verify_passes_with_augment_and_fails_with_independent_draws(plugins_loaded):
  """Hinge + R1 (a penalty on augmented reals), DCGAN with BatchNorm in G."""
  cfg = config_lib.from_dict({
      "data": {"name": "mnist", "path": str(MNIST), "split": "test"},
      "generator": {"name": "dcgan", "base_channels": 4},
      "discriminator": {"name": "dcgan", "base_channels": 4, "norm": "spectral_norm"},
      "loss": "hinge", "penalties": [{"name": "r1", "weight": 1.0}],
      "noise": {"dim": 8}, "train": {"batch_size": 8}, "augment": {"p": 0.8}})
  built = build.everything(cfg)
  trainer = Trainer(built.gan, cfg.train, built.optimizers, built.noise_fn)
  real = next(iter(built.data.dataset(8, 0)))
  z = tf.random.stateless_normal([8, 8], seed=[1, 2])
  good = verify.report(verify.rule_gradients(trainer, real, z, SEED))
  assert good["ok"], good
  trainer.gan.augment = _IndependentDraws(trainer.gan.augment)
  bad = verify.report(verify.rule_gradients(trainer, real, z, SEED))
  assert not bad["ok"] and bad["worst_relative"] > 1e-2
