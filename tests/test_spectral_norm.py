"""The SpectralNorm wrapper: sigma, a pure forward pass, the paper's gradient,
Keras 3 and tf_keras, and one-step equivalence of a spectrally normalized D."""
import json
import pathlib

import numpy as np
import pytest

from tfgan1.engine import assembly as build
from tfgan1 import config as config_lib
from tfgan1.engine.trainer import Trainer
from tfgan1.plugins.architectures.spectral_norm import spectral_norm_wrapper
from tfgan1.engine.verify import report, rule_gradients

tf = build.tf
import keras  # noqa: E402
import tf_keras  # noqa: E402

MODULES = pytest.mark.parametrize("km", [keras, tf_keras], ids=["keras3", "tf_keras"])
MNIST = pathlib.Path(__file__).resolve().parents[2] / "shared/data/mnist"
needs_mnist = pytest.mark.skipif(not MNIST.is_dir(), reason=f"no MNIST at {MNIST}")


def _l2n(x):
  return x / (np.sqrt(np.sum(x * x)) + 1e-12)


def _numpy_power_iteration(w_mat, u):
  """One step as the authors' code: (u', v) from u [1, out] on w_mat [in, out]."""
  v = _l2n(u @ w_mat.T)
  return _l2n(v @ w_mat), v


def _wrapped(km, layer, input_shape):
  sn = spectral_norm_wrapper(km)(layer)
  sn.build((None, *input_shape))
  return sn


def _set_kernel(sn, kernel):
  sn.layer.kernel.assign(kernel.astype(np.float32))


def _top_singular_value(kernel):
  return np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]


@MODULES
def test_factory_caches_one_class_per_module(km):
  cls = spectral_norm_wrapper(km)
  assert cls is spectral_norm_wrapper(km)
  assert issubclass(cls, km.layers.Wrapper) and cls.__name__ == "SpectralNorm"
  other = tf_keras if km is keras else keras
  assert cls is not spectral_norm_wrapper(other)


@MODULES
@pytest.mark.parametrize("kind", ["dense", "conv"])
def test_updates_converge_to_the_largest_singular_value(km, kind):
  rng = np.random.default_rng(0)
  if kind == "dense":  # known spectrum with a clear gap: sigma = 4
    q1, _ = np.linalg.qr(rng.standard_normal((12, 12)))
    q2, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    kernel = q1[:, :6] @ np.diag([4.0, 2.0, 1.5, 1.0, 0.5, 0.1]) @ q2.T
    sn = _wrapped(km, km.layers.Dense(6), (12,))
  else:
    kernel = rng.standard_normal((3, 3, 4, 8))
    sn = _wrapped(km, km.layers.Conv2D(8, 3), (9, 9, 4))
  _set_kernel(sn, kernel)
  want = _top_singular_value(kernel)
  kernel_before = sn.layer.kernel.numpy().copy()
  for _ in range(50):
    sn.tfgan1_after_update()
  np.testing.assert_array_equal(sn.layer.kernel.numpy(), kernel_before)
  assert float(sn.sigma()) == pytest.approx(want, rel=1e-3)
  assert _top_singular_value(sn.normalized_kernel().numpy()) == pytest.approx(1.0, rel=1e-3)
  assert np.linalg.norm(sn.u.numpy()) == pytest.approx(1.0, rel=1e-5)


@MODULES
def test_one_update_is_one_power_iteration_from_the_stored_u(km):
  sn = _wrapped(km, km.layers.Conv2D(5, 3, strides=2), (8, 8, 2))
  kernel = sn.layer.kernel.numpy().reshape(-1, 5)
  u0 = sn.u.numpy().copy()
  assert u0.shape == (1, 5) and not np.allclose(np.linalg.norm(u0), 1.0, atol=1e-3)
  want, _ = _numpy_power_iteration(kernel, u0)
  sn.tfgan1_after_update()
  np.testing.assert_allclose(sn.u.numpy(), want, rtol=1e-5, atol=1e-6)


@MODULES
def test_forward_is_pure_and_repeatable(km):
  inputs = km.Input((8, 8, 3))
  x = spectral_norm_wrapper(km)(km.layers.Conv2D(4, 3, strides=2, padding="same"))(inputs)
  x = km.layers.Flatten()(x)
  model = km.Model(inputs, spectral_norm_wrapper(km)(km.layers.Dense(1))(x))
  data = np.random.default_rng(1).uniform(-1, 1, (2, 8, 8, 3)).astype(np.float32)
  before = [v.numpy().copy() for v in model.variables]
  graph_call = tf.function(lambda t: model(t, training=True))
  eager = [model(data, training=True), model(data, training=True),
           model(data, training=False)]
  graph = [graph_call(data), graph_call(data)]
  for outs in (eager, graph):  # each way of calling repeats itself to the bit
    for out in outs[1:]:
      np.testing.assert_array_equal(out.numpy(), outs[0].numpy())
  # A traced call may fuse ops and round differently from the eager one (1 ulp seen).
  np.testing.assert_allclose(graph[0].numpy(), eager[0].numpy(), rtol=1e-6, atol=1e-7)
  for v, value in zip(model.variables, before):
    np.testing.assert_array_equal(v.numpy(), value)
  assert len(model.non_trainable_variables) == 2  # one u per wrapped layer


@MODULES
@pytest.mark.parametrize("make,shape", [
    (lambda km: km.layers.Dense(5, activation="relu"), (7,)),
    (lambda km: km.layers.Dense(3), (4, 6)),  # rank-3 input
    (lambda km: km.layers.Conv2D(4, 4, strides=2, padding="same", activation="tanh"),
     (9, 9, 3)),
    (lambda km: km.layers.Conv2D(3, 3, dilation_rate=2, use_bias=False), (10, 10, 2)),
], ids=["dense_relu", "dense_rank3", "conv_strided_same", "conv_dilated_valid"])
def test_output_is_the_plain_layer_with_kernel_over_sigma(km, make, shape):
  sn = _wrapped(km, make(km), shape)
  rng = np.random.default_rng(2)
  if sn.layer.use_bias:  # a nonzero bias, so adding it is checked too
    sn.layer.bias.assign(rng.standard_normal(sn.layer.bias.shape).astype(np.float32))
  plain = type(sn.layer).from_config(sn.layer.get_config())
  plain.build((None, *shape))
  w_sn = sn.normalized_kernel().numpy()
  plain.set_weights([w_sn] + ([sn.layer.bias.numpy()] if sn.layer.use_bias else []))
  data = rng.uniform(-1, 1, (2, *shape)).astype(np.float32)
  np.testing.assert_allclose(sn(data).numpy(), plain(data).numpy(), rtol=1e-5, atol=1e-6)
  # And W / sigma is the kernel over the one-step power-iteration estimate.
  kernel = sn.layer.kernel.numpy()
  w_mat = kernel.reshape(-1, kernel.shape[-1])
  u, v = _numpy_power_iteration(w_mat, sn.u.numpy())
  np.testing.assert_allclose(w_sn, kernel / (v @ w_mat @ u.T).item(), rtol=1e-5)


@MODULES
def test_gradient_flows_through_sigma(km):
  sn = _wrapped(km, km.layers.Dense(3), (4,))
  rng = np.random.default_rng(3)
  data = rng.standard_normal((5, 4)).astype(np.float32)
  weights = rng.standard_normal((5, 3)).astype(np.float32)
  with tf.GradientTape() as tape:
    loss = tf.reduce_sum(sn(data) * weights)
  got = tape.gradient(loss, sn.layer.kernel).numpy()
  # By hand: y = x W / sigma + b, sigma = v W u^T with u, v held fixed, so
  # dL/dW = G / sigma - <G, W> / sigma^2 * v^T u with G = x^T R.
  w = sn.layer.kernel.numpy().astype(np.float64)
  u, v = _numpy_power_iteration(w, sn.u.numpy().astype(np.float64))
  sigma = (v @ w @ u.T).item()
  g = data.T.astype(np.float64) @ weights
  want = g / sigma - np.sum(g * w) / sigma**2 * (v.T @ u)
  np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
  # Keras' own layer would give G / sigma (no path through sigma): not this.
  assert np.abs(got - g / sigma).max() > 1e-2 * np.abs(want).max()


@MODULES
def test_config_round_trip_and_clone(km):
  sn = spectral_norm_wrapper(km)(km.layers.Conv2D(4, 3, name="c"), power_iterations=2,
                                 eps=1e-8)
  config = sn.get_config()
  assert config["power_iterations"] == 2 and config["eps"] == 1e-8
  copy = type(sn).from_config(config)
  assert (copy.power_iterations, copy.eps) == (2, 1e-8)
  assert copy.layer.get_config() == sn.layer.get_config()
  inputs = km.Input((6, 6, 1))
  model = km.Model(inputs, sn(inputs))
  clone = km.models.clone_model(model)
  assert type(clone.layers[-1]) is type(sn)
  assert clone.count_params() == model.count_params() == 9 * 4 + 4 + 4


@MODULES
@pytest.mark.parametrize("make,message", [
    (lambda km: km.layers.Conv2DTranspose(3, 3), "wraps Dense and Conv2D layers only"),
    (lambda km: km.layers.Embedding(10, 3), "wraps Dense and Conv2D layers only"),
    (lambda km: km.layers.Conv2D(4, 3, groups=2), "only groups=1"),
])
def test_unsupported_layers_are_refused(km, make, message):
  with pytest.raises(ValueError, match=message):
    spectral_norm_wrapper(km)(make(km))


@pytest.mark.parametrize("kwargs", [{"power_iterations": 0}, {"eps": 0.0}])
def test_bad_arguments_are_refused(kwargs):
  with pytest.raises(ValueError, match=next(iter(kwargs))):
    spectral_norm_wrapper(keras)(keras.layers.Dense(2), **kwargs)


def _mnist_raw():
  return {"seed": 0,
          "data": {"name": "mnist", "path": str(MNIST), "split": "test"},
          "generator": {"name": "dcgan", "base_channels": 8},
          "discriminator": {"name": "dcgan", "base_channels": 8, "norm": "spectral_norm"},
          "loss": "hinge", "noise": {"dim": 16},
          "train": {"batch_size": 8, "steps": 2}}


def _mnist_trainer(plugins_loaded, overrides=()):
  assert plugins_loaded
  cfg = config_lib.from_dict(_mnist_raw(), list(overrides))
  built = build.everything(cfg)
  trainer = Trainer(built.gan, cfg.train, built.optimizers, built.noise_fn)
  return trainer, built


@needs_mnist
def test_spectral_dcgan_one_step_equals_simultaneous(plugins_loaded):
  trainer, built = _mnist_trainer(plugins_loaded)
  real = next(iter(built.data.dataset(8, 0)))
  z = tf.random.stateless_normal([8, 16], seed=[1, 2])
  grads = rule_gradients(trainer, real, z, tf.constant([3, 4], tf.int32))
  ref_d, ref_g = grads["simultaneous"]
  # (Not every tensor: hinge gives the last bias zero while all logits sit in the margin.)
  assert all(np.abs(g).max() > 0 for g in ref_d[:-1] + ref_g), "gradients must not vanish"
  for name in ("one_step_classic", "one_step_stateless"):
    d, g = grads[name]
    for got, want in zip(d + g, ref_d + ref_g):
      np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())
  assert report(grads)["worst_relative"] <= 1e-5


@needs_mnist
@pytest.mark.parametrize("rule", ["one_step", "simultaneous", "alternating"])
def test_train_step_moves_u_once_per_d_update(plugins_loaded, rule):
  trainer, built = _mnist_trainer(plugins_loaded, [f"train.rule={rule}"])
  layers = [l for l in trainer.gan.discriminator.layers if hasattr(l, "tfgan1_after_update")]
  assert len(layers) == 3  # two strided convs for 28x28 and the final dense
  u0 = [l.u.numpy().copy() for l in layers]
  trainer.train_step(iter(built.data.dataset(8, 0)), tf.random.Generator.from_seed(0))
  for layer, u in zip(layers, u0):
    # One power iteration from the old u on the updated kernel: the hook ran
    # once, after the D update, and no forward pass moved u.
    kernel = layer.layer.kernel.numpy()
    want, _ = _numpy_power_iteration(kernel.reshape(-1, kernel.shape[-1]), u)
    np.testing.assert_allclose(layer.u.numpy(), want, rtol=1e-4, atol=1e-6)


@needs_mnist
def test_verify_passes_for_a_spectral_dcgan(plugins_loaded, capsys):
  """`--verify` in-process: the YAML the user writes, loaded and checked as the CLI
  does (tfgan1.api), then the function `--verify` calls, with its printed JSON."""
  from tfgan1 import api, backends  # pylint: disable=import-outside-toplevel
  config = api.with_plugins(api.load_config(_mnist_raw()))
  assert backends.verify(config) == 0
  stdout = capsys.readouterr().out
  out = json.loads(stdout[stdout.index("{"):])
  assert out["ok"] and out["worst_relative"] <= 1e-5
