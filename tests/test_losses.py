"""Tests for the loss families in `tfgan1.plugins.losses`.

One mixin holds the checks every family must pass; each subclass supplies the
family's key, kwargs and golden values computed here by hand with numpy, never
through the TF code under test.
"""
import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan1 import LOSSES
from tfgan1 import UserError
import tfgan1.plugins.losses  # pylint: disable=unused-import  (registers)

REAL = np.array([1.5, -0.5, 0.25, 2.0], np.float32)
FAKE = np.array([-1.0, 0.75, -2.5, 0.1], np.float32)
# float64 copies for the hand computations.
R, F = REAL.astype(np.float64), FAKE.astype(np.float64)


def softplus(x):
  return np.log1p(np.exp(x))


def relu(x):
  return np.maximum(x, 0.0)


class LossFamilyTestMixin:
  """Checks shared by all loss families; subclasses fill in the hooks."""

  key = None
  kwargs = {}

  def expected_discriminator_loss(self):
    raise NotImplementedError("golden D loss on REAL, FAKE")

  def expected_generator_loss(self):
    raise NotImplementedError("golden G loss on FAKE, REAL")

  def make(self):
    return LOSSES.get(self.key)(**self.kwargs)

  def test_golden_values(self):
    loss = self.make()
    d = loss.discriminator_loss(tf.constant(REAL), tf.constant(FAKE))
    g = loss.generator_loss(tf.constant(FAKE), tf.constant(REAL))
    np.testing.assert_allclose(d.numpy(), self.expected_discriminator_loss(),
                               rtol=0, atol=1e-6)
    np.testing.assert_allclose(g.numpy(), self.expected_generator_loss(),
                               rtol=0, atol=1e-6)

  def test_scalar_float32(self):
    loss = self.make()
    for value in (loss.discriminator_loss(REAL, FAKE),
                  loss.generator_loss(FAKE, REAL)):
      assert value.shape == ()
      assert value.dtype == tf.float32

  @pytest.mark.parametrize("real_shape,fake_shape",
                           [((4, 1), (4, 1)), ((4, 1), (4,)), ((4,), (4, 1))])
  def test_column_logits_match_flat(self, real_shape, fake_shape):
    loss = self.make()
    real, fake = REAL.reshape(real_shape), FAKE.reshape(fake_shape)
    np.testing.assert_allclose(loss.discriminator_loss(real, fake).numpy(),
                               self.expected_discriminator_loss(), atol=1e-6)
    np.testing.assert_allclose(loss.generator_loss(fake, real).numpy(),
                               self.expected_generator_loss(), atol=1e-6)

  @pytest.mark.parametrize("scale", [1.0, 100.0])
  def test_gradients_finite(self, scale):
    loss = self.make()
    # Logits of +-250 overflow exp() in float32: only stable forms pass.
    real, fake = tf.constant(REAL * scale), tf.constant(FAKE * scale)
    with tf.GradientTape(persistent=True) as tape:
      tape.watch([real, fake])
      values = [loss.discriminator_loss(real, fake),
                loss.generator_loss(fake, real)]
    for value in values:
      assert np.isfinite(value.numpy())
      for grad in tape.gradient(value, [real, fake]):
        if grad is not None:
          assert np.all(np.isfinite(grad.numpy()))
    # G's loss must move with its own logits.
    assert tape.gradient(values[1], fake) is not None

  def test_deterministic(self):
    loss = self.make()
    assert loss.discriminator_loss(REAL, FAKE).numpy() == (
        loss.discriminator_loss(REAL, FAKE).numpy())
    assert loss.generator_loss(FAKE, REAL).numpy() == (
        loss.generator_loss(FAKE, REAL).numpy())


class TestMinimax(LossFamilyTestMixin):
  key = "minimax"

  def expected_discriminator_loss(self):
    d_real, d_fake = 1 / (1 + np.exp(-R)), 1 / (1 + np.exp(-F))
    return -np.mean(np.log(d_real)) - np.mean(np.log(1 - d_fake))

  def expected_generator_loss(self):
    return np.mean(np.log(1 - 1 / (1 + np.exp(-F))))


class TestNonSaturating(LossFamilyTestMixin):
  key = "non_saturating"

  def expected_discriminator_loss(self):
    return TestMinimax().expected_discriminator_loss()

  def expected_generator_loss(self):
    return -np.mean(np.log(1 / (1 + np.exp(-F))))


class TestHinge(LossFamilyTestMixin):
  key = "hinge"

  def expected_discriminator_loss(self):
    # relu(1 - R) = [0, 1.5, .75, 0], relu(1 + F) = [0, 1.75, 0, 1.1].
    return (0 + 1.5 + 0.75 + 0) / 4 + (0 + 1.75 + 0 + 1.1) / 4

  def expected_generator_loss(self):
    return -(-1.0 + 0.75 - 2.5 + 0.1) / 4


class TestWasserstein(LossFamilyTestMixin):
  key = "wasserstein"

  def expected_discriminator_loss(self):
    return np.mean(F) - np.mean(R)

  def expected_generator_loss(self):
    return -np.mean(F)


class TestLeastSquares(LossFamilyTestMixin):
  key = "least_squares"

  def expected_discriminator_loss(self):
    return 0.5 * np.mean((R - 1) ** 2) + 0.5 * np.mean(F ** 2)

  def expected_generator_loss(self):
    return 0.5 * np.mean((F - 1) ** 2)


class TestLeastSquaresPearson(LossFamilyTestMixin):
  key = "least_squares"
  kwargs = {"a": -1, "b": 1, "c": 0}

  def expected_discriminator_loss(self):
    return 0.5 * np.mean((R - 1) ** 2) + 0.5 * np.mean((F + 1) ** 2)

  def expected_generator_loss(self):
    return 0.5 * np.mean(F ** 2)


class TestRelativistic(LossFamilyTestMixin):
  key = "relativistic"

  def expected_discriminator_loss(self):
    return -np.mean(np.log(1 / (1 + np.exp(-(R - F)))))

  def expected_generator_loss(self):
    return -np.mean(np.log(1 / (1 + np.exp(-(F - R)))))


class TestRelativisticAverage(LossFamilyTestMixin):
  key = "relativistic_average"

  def expected_discriminator_loss(self):
    c_r, c_f = R - np.mean(F), F - np.mean(R)
    return np.mean(softplus(-c_r)) + np.mean(softplus(c_f))

  def expected_generator_loss(self):
    c_r, c_f = R - np.mean(F), F - np.mean(R)
    return np.mean(softplus(-c_f)) + np.mean(softplus(c_r))


class TestRelativisticAverageHinge(LossFamilyTestMixin):
  key = "relativistic_average"
  kwargs = {"form": "hinge"}

  def expected_discriminator_loss(self):
    c_r, c_f = R - np.mean(F), F - np.mean(R)
    return np.mean(relu(1 - c_r)) + np.mean(relu(1 + c_f))

  def expected_generator_loss(self):
    c_r, c_f = R - np.mean(F), F - np.mean(R)
    return np.mean(relu(1 - c_f)) + np.mean(relu(1 + c_r))


def test_registered_keys():
  expected = {"minimax", "non_saturating", "hinge", "wasserstein",
              "least_squares", "relativistic", "relativistic_average"}
  assert expected <= set(LOSSES.keys())


@pytest.mark.parametrize("key,kwargs,message", [
    ("wasserstein", {"clip": -1},
     "loss.clip: -1 is not allowed; must be > 0"),
    ("wasserstein", {"clip": "1e-2"},
     "loss.clip: '1e-2' is not allowed; must be a finite number > 0"),
    ("wasserstein", {"clip": True},
     "loss.clip: True is not allowed; must be a finite number > 0"),
    ("relativistic_average", {"form": "x"},
     "loss.form: 'x' is not allowed; choose one of: hinge, non_saturating"),
    ("least_squares", {"c": float("nan")},
     "loss.c: nan is not allowed; must be a finite number"),
    ("least_squares", {"a": 1.0},
     "loss.b: 1.0 is not allowed; must differ from loss.a (1.0)"),
])
def test_bad_kwargs_raise_user_error(key, kwargs, message):
  with pytest.raises(UserError) as error:
    LOSSES.get(key)(**kwargs)
  assert str(error.value).startswith(message)
  assert "\n" not in str(error.value)


def _tiny_discriminator():
  model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2),
                            keras.layers.Dense(1)])
  kernel = np.array([[0.5, -0.005], [-2.0, 0.003], [0.0, 0.02]], np.float32)
  model.layers[0].set_weights([kernel, np.array([0.2, -0.001], np.float32)])
  return model


def test_wasserstein_clips_discriminator_weights():
  model = _tiny_discriminator()
  before = [w.copy() for w in model.get_weights()]
  LOSSES.get("wasserstein")(clip=0.01).after_discriminator_update(model)
  for old, new in zip(before, model.get_weights()):
    np.testing.assert_array_equal(new, np.clip(old, -0.01, 0.01))
  # The first kernel held values outside the range, so clipping did something.
  assert not np.array_equal(before[0], model.get_weights()[0])


def test_wasserstein_without_clip_leaves_weights():
  model = _tiny_discriminator()
  before = model.get_weights()
  loss = LOSSES.get("wasserstein")()
  loss.after_discriminator_update(model)
  for old, new in zip(before, model.get_weights()):
    np.testing.assert_array_equal(new, old)
