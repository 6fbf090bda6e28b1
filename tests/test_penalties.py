"""Tests for the penalties in `tfgan1.plugins.penalties`.

Golden values use discriminators whose input gradients are known in closed form:
a linear D(x) = flatten(x) @ w has gradient w everywhere, and a quadratic
D(x) = 0.5 * ||x||^2 has gradient x.
"""
import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan1 import PENALTIES
from tfgan1 import UserError
import tfgan1.plugins.penalties  # pylint: disable=unused-import  (registers)
from tfgan1.plugins.penalties import gradient_norm

SEED = tf.constant([7, 11], tf.int32)
# [batch=3, 2, 2] samples, so norms must reduce over two non-batch axes.
REAL = np.arange(12, dtype=np.float32).reshape(3, 2, 2) / 10.0
FAKE = -np.linspace(0.5, 1.5, 12, dtype=np.float32).reshape(3, 2, 2)


def linear_d(w, column=True):
  """D(x) = flatten(x) @ w, logits [batch, 1] (or [batch] if not column)."""
  w = tf.constant(np.asarray(w, np.float32).reshape(4, 1))

  def discriminator(x):
    logits = tf.reshape(x, [-1, 4]) @ w
    return logits if column else logits[:, 0]

  return discriminator


def quadratic_d(x):
  """D(x) = 0.5 * ||x||^2 per sample, so dD/dx = x."""
  return 0.5 * tf.reduce_sum(tf.square(tf.reshape(x, [-1, 4])), axis=1)


def penalty(key, **kwargs):
  return PENALTIES.get(key)(**kwargs)


W_LONG = [1.2, -1.6, 0.0, 0.0]    # ||w|| = 2
W_SHORT = [0.3, 0.0, -0.4, 0.0]   # ||w|| = 0.5


@pytest.mark.parametrize("column", [True, False])
@pytest.mark.parametrize("key,kwargs,w,expected", [
    ("gradient_penalty", {}, W_LONG, (2 - 1) ** 2),
    ("gradient_penalty", {}, W_SHORT, (0.5 - 1) ** 2),
    ("gradient_penalty", {"one_sided": True}, W_LONG, (2 - 1) ** 2),
    ("gradient_penalty", {"one_sided": True}, W_SHORT, 0.0),
    ("gradient_penalty", {"target": 3.0}, W_LONG, (2 - 3) ** 2),
    ("dragan", {}, W_LONG, (2 - 1) ** 2),
    ("dragan", {"target": 0.25, "scale": 2.0}, W_SHORT, (0.5 - 0.25) ** 2),
    ("r1", {}, W_LONG, 0.5 * 2 ** 2),
    ("r2", {}, W_SHORT, 0.5 * 0.5 ** 2),
])
def test_linear_d_golden(key, kwargs, w, expected, column):
  value = penalty(key, **kwargs)(linear_d(w, column), REAL, FAKE, SEED)
  assert value.shape == () and value.dtype == tf.float32
  np.testing.assert_allclose(value.numpy(), expected, rtol=0, atol=1e-6)


def test_r1_and_r2_use_real_and_fake_data():
  flat_real, flat_fake = REAL.reshape(3, -1), FAKE.reshape(3, -1)
  expected_r1 = 0.5 * np.mean(np.sum(flat_real.astype(np.float64) ** 2, 1))
  expected_r2 = 0.5 * np.mean(np.sum(flat_fake.astype(np.float64) ** 2, 1))
  r1 = penalty("r1")(quadratic_d, REAL, FAKE, SEED)
  r2 = penalty("r2")(quadratic_d, REAL, FAKE, SEED)
  np.testing.assert_allclose(r1.numpy(), expected_r1, rtol=0, atol=1e-6)
  np.testing.assert_allclose(r2.numpy(), expected_r2, rtol=0, atol=1e-6)


def test_interpolates_mix_each_sample_on_its_segment():
  points = gradient_norm.interpolates(REAL, FAKE, SEED).numpy()
  mix = (points - REAL) / (FAKE - REAL)  # FAKE - REAL is never 0 here.
  for sample_mix in mix:
    np.testing.assert_allclose(sample_mix, sample_mix.flat[0], atol=1e-5)
  per_sample = mix[:, 0, 0]
  assert np.all((per_sample >= 0) & (per_sample < 1))
  assert len(np.unique(per_sample)) == 3  # One draw per sample, not one shared.


def test_dragan_noise_is_bounded_by_scaled_batch_std():
  points = gradient_norm.dragan_perturb(REAL, SEED, scale=0.5).numpy()
  delta = points - REAL
  bound = 0.5 * np.std(REAL)
  assert np.all(delta >= 0) and np.all(delta < bound + 1e-6)
  assert len(np.unique(np.round(delta, 6))) > 6  # Drawn per element.


def test_gradient_penalty_on_quadratic_d():
  # dD/dx = x, so the penalty is mean((||x_hat|| - 1)^2) at the interpolates.
  points = gradient_norm.interpolates(REAL, FAKE, SEED).numpy()
  norms = np.linalg.norm(points.reshape(3, -1).astype(np.float64), axis=1)
  value = penalty("gradient_penalty")(quadratic_d, REAL, FAKE, SEED)
  np.testing.assert_allclose(value.numpy(), np.mean((norms - 1) ** 2),
                             rtol=0, atol=1e-6)


@pytest.mark.parametrize("key", ["gradient_penalty", "dragan"])
def test_random_points_follow_the_seed(key):
  fn = penalty(key)
  first = fn(quadratic_d, REAL, FAKE, SEED).numpy()
  again = fn(quadratic_d, REAL, FAKE, tf.constant([7, 11], tf.int32)).numpy()
  other = fn(quadratic_d, REAL, FAKE, tf.constant([8, 11], tf.int32)).numpy()
  assert first == again
  assert abs(first - other) > 1e-4


def _tiny_models():
  """A small dense G (latent 2 -> [2, 2] samples) and a nonlinear dense D."""
  keras.utils.set_random_seed(0)
  generator = keras.Sequential([
      keras.Input((2,)), keras.layers.Dense(4), keras.layers.Reshape((2, 2))])
  discriminator = keras.Sequential([
      keras.Input((2, 2)), keras.layers.Flatten(),
      keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1)])
  return generator, discriminator


@pytest.mark.parametrize("key", ["gradient_penalty", "r1", "r2", "dragan"])
def test_no_generator_gradient_through_stopped_fakes(key):
  generator, discriminator = _tiny_models()
  z = tf.random.stateless_normal([3, 2], seed=[1, 2])
  with tf.GradientTape(persistent=True) as tape:
    stopped = penalty(key)(discriminator, REAL,
                           tf.stop_gradient(generator(z)), SEED)
    live = penalty(key)(discriminator, REAL, generator(z), SEED)
  g_grads = tape.gradient(stopped, generator.trainable_variables)
  assert all(g is None or not np.any(g.numpy()) for g in g_grads)
  # Double backprop reaches D's parameters with finite values. (The output
  # bias shifts D but not dD/dx, so its gradient is None.)
  d_grads = tape.gradient(stopped, discriminator.trainable_variables)
  first_kernel = d_grads[0]
  assert first_kernel is not None and np.any(first_kernel.numpy())
  assert all(g is None or np.all(np.isfinite(g.numpy())) for g in d_grads)
  if key in ("gradient_penalty", "r2"):
    # Control: without the stop-gradient G does get a gradient, so the check
    # above is not vacuous for the penalties that read fake data.
    live_grads = tape.gradient(live, generator.trainable_variables)
    assert any(g is not None and np.any(g.numpy()) for g in live_grads)


@pytest.mark.parametrize("key", ["gradient_penalty", "dragan"])
def test_zero_input_gradient_keeps_parameter_gradients_finite(key):
  # With w = 0 the norm is sqrt(0): without the epsilon its gradient is NaN.
  w = tf.Variable(tf.zeros([4, 1]))
  with tf.GradientTape() as tape:
    value = penalty(key)(lambda x: tf.reshape(x, [-1, 4]) @ w, REAL, FAKE, SEED)
  grad = tape.gradient(value, w)
  assert np.all(np.isfinite(grad.numpy()))
  np.testing.assert_allclose(value.numpy(), 1.0, atol=1e-5)


def test_works_inside_tf_function():
  fn = tf.function(penalty("gradient_penalty"))
  value = fn(linear_d(W_LONG), tf.constant(REAL), tf.constant(FAKE), SEED)
  np.testing.assert_allclose(value.numpy(), 1.0, atol=1e-6)


def test_registered_keys():
  assert {"gradient_penalty", "r1", "r2", "dragan"} <= set(PENALTIES.keys())


@pytest.mark.parametrize("key,kwargs,message", [
    ("gradient_penalty", {"target": -1},
     "penalties.gradient_penalty.target: -1 is not allowed; must be >= 0"),
    ("gradient_penalty", {"one_sided": "yes"},
     "penalties.gradient_penalty.one_sided: 'yes' is not allowed; "
     "must be true or false"),
    ("dragan", {"scale": 0},
     "penalties.dragan.scale: 0 is not allowed; must be > 0"),
    ("dragan", {"target": None},
     "penalties.dragan.target: None is not allowed; must be a finite number"),
])
def test_bad_kwargs_raise_user_error(key, kwargs, message):
  with pytest.raises(UserError) as error:
    penalty(key, **kwargs)
  assert str(error.value).startswith(message)
