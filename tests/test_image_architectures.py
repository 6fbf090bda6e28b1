"""The image architectures (dcgan, resnet), built with Keras 3 and with tf_keras."""
import numpy as np
import pytest

from tfgan1 import tfimport

tf = tfimport.tensorflow()
import keras  # noqa: E402
import tf_keras  # noqa: E402

import tfgan1.plugins.architectures  # noqa: E402,F401  registers the plugins
from tfgan1 import ARCHITECTURES, UserError  # noqa: E402
from tfgan1.registry.spec import DataSpec  # noqa: E402

MODULES = pytest.mark.parametrize("km", [keras, tf_keras], ids=["keras3", "tf_keras"])
LATENT = 16


def _build(km, name, shape, g_kwargs=None, d_kwargs=None):
  arch = ARCHITECTURES.get(name)
  spec = DataSpec(shape)
  return (arch.generator(km, spec, LATENT, **(g_kwargs or {})),
          arch.discriminator(km, spec, **(d_kwargs or {})))


def _spectral_layers(model):
  return [l for l in model.layers if type(l).__name__ == "SpectralNorm"]


def _forward(generator, discriminator, batch=3):
  z = np.random.default_rng(0).standard_normal((batch, LATENT)).astype(np.float32)
  fake = generator(z, training=True)
  return fake, discriminator(fake, training=True)


def test_registered():
  assert "dcgan" in ARCHITECTURES and "resnet" in ARCHITECTURES


@MODULES
@pytest.mark.parametrize("shape", [(28, 28, 1), (32, 32, 3), (64, 64, 1)])
@pytest.mark.parametrize("norm", ["spectral_norm", "batch_norm", "none"])
def test_dcgan_shapes(km, shape, norm):
  g, d = _build(km, "dcgan", shape, {"base_channels": 8},
                {"base_channels": 8, "norm": norm})
  fake, logits = _forward(g, d)
  assert tuple(fake.shape) == (3, *shape) and tuple(logits.shape) == (3, 1)
  assert fake.dtype == tf.float32 and logits.dtype == tf.float32
  assert np.all(np.abs(fake.numpy()) <= 1.0)  # tanh
  assert np.all(np.isfinite(logits.numpy()))
  # Spectral norm wraps every conv and the final dense: one per stride-2 layer + 1.
  strided = {28: 2, 32: 3, 64: 4}[shape[0]]
  assert len(_spectral_layers(d)) == (strided + 1 if norm == "spectral_norm" else 0)


def test_dcgan_parameter_count_by_hand():
  g, d = _build(keras, "dcgan", (28, 28, 1), {"base_channels": 8}, {"norm": "none"})
  # G: Dense 16 -> 7*7*16 (no bias), BN(16), ConvT 4x4 16->8 (no bias), BN(8),
  # ConvT 4x4 8->1 + bias. BN counts gamma, beta and both moving statistics.
  assert g.count_params() == 16 * 784 + 4 * 16 + 16 * 16 * 8 + 4 * 8 + 16 * 8 + 1
  # D: Conv 4x4 1->64, Conv 4x4 64->128, Dense 7*7*128 -> 1, all with biases.
  assert d.count_params() == (16 * 64 + 64) + (16 * 64 * 128 + 128) + (6272 + 1)


def test_resnet_parameter_count_matches_sngan():
  g, d = _build(keras, "resnet", (32, 32, 3))  # paper widths: G 256, D 128
  conv = lambda k, i, o: k * k * i * o + o  # noqa: E731
  bn = 4 * 256
  g_block = bn + conv(3, 256, 256) + bn + conv(3, 256, 256) + conv(1, 256, 256)
  assert g.count_params() == (16 * 4096 + 4096) + 3 * g_block + bn + conv(3, 256, 3)
  # D: 7 3x3 128->128 convs, one 3->128, 1x1 shortcuts 3->128 and 128->128, the
  # dense, plus a power-iteration vector u per spectrally normalized layer.
  d_weights = (7 * conv(3, 128, 128) + conv(3, 3, 128) + conv(1, 3, 128)
               + conv(1, 128, 128) + 129)
  assert d.count_params() == d_weights + 10 * 128 + 1
  assert len(_spectral_layers(d)) == 11
  assert not [l for l in d.layers if isinstance(l, (keras.layers.Conv2D,
                                                    keras.layers.Dense))]


@pytest.mark.parametrize("name,shape,kwargs", [
    ("dcgan", (64, 64, 3), {"base_channels": 8}),
    ("dcgan", (32, 32, 1), {"base_channels": 8, "norm": "batch_norm"}),
    ("resnet", (32, 32, 3), {"channels": 16}),
    ("resnet", (32, 32, 1), {"channels": 8}),
])
def test_keras3_and_tf_keras_builds_agree(name, shape, kwargs):
  d_kwargs = dict(kwargs)
  g_kwargs = {k: v for k, v in kwargs.items() if k != "norm"}
  built = {km.__name__: _build(km, name, shape, g_kwargs, d_kwargs)
           for km in (keras, tf_keras)}
  for k3, k2 in zip(built["keras"], built["tf_keras"]):
    assert k3.count_params() == k2.count_params()
    assert len(k3.trainable_weights) == len(k2.trainable_weights)
    assert tuple(k3.output.shape) == tuple(k2.output.shape)
  for km in (keras, tf_keras):
    fake, logits = _forward(*built[km.__name__])
    assert tuple(fake.shape) == (3, *shape) and tuple(logits.shape) == (3, 1)
    for layer in built[km.__name__][1].layers:  # Keras 3 `negative_slope`, Keras 2 `alpha`
      if isinstance(layer, km.layers.LeakyReLU):
        config = layer.get_config()
        assert config.get("negative_slope", config.get("alpha")) == pytest.approx(0.2)


@MODULES
@pytest.mark.parametrize("name,kwargs", [("dcgan", {"base_channels": 8}),
                                         ("resnet", {"channels": 8})])
def test_spectral_forward_is_pure_and_only_the_hook_moves_u(km, name, kwargs):
  # The one-step loss calls D several times per step: no call may change it.
  _, d = _build(km, name, (32, 32, 3), kwargs, kwargs)
  x = np.random.default_rng(1).uniform(-1, 1, (2, 32, 32, 3)).astype(np.float32)
  before = [v.numpy().copy() for v in d.variables]
  first = d(x, training=True).numpy()
  np.testing.assert_array_equal(d(x, training=True).numpy(), first)
  np.testing.assert_array_equal(d(x, training=False).numpy(), first)
  for v, value in zip(d.variables, before):
    np.testing.assert_array_equal(v.numpy(), value)
  layers = _spectral_layers(d)
  hooked = [l for l in d._flatten_layers(include_self=False)  # as the trainer finds them
            if hasattr(l, "tfgan1_after_update")]
  assert hooked == layers
  kernels = [l.layer.kernel.numpy().copy() for l in layers]
  u0 = [l.u.numpy().copy() for l in layers]
  for layer in layers:
    layer.tfgan1_after_update()
  for layer, kernel, u in zip(layers, kernels, u0):
    np.testing.assert_array_equal(layer.layer.kernel.numpy(), kernel)
    assert not np.array_equal(layer.u.numpy(), u)
  assert not np.array_equal(d(x, training=True).numpy(), first)  # sigma moved with u


def test_spectral_d_works_under_stateless_call():
  # The engine's frozen-D call uses Keras 3 stateless_call in training mode.
  _, d = _build(keras, "resnet", (32, 32, 3), None, {"channels": 8})
  x = np.zeros((2, 32, 32, 3), np.float32)
  logits, non_trainable = d.stateless_call(
      [tf.convert_to_tensor(v) for v in d.trainable_variables],
      [tf.convert_to_tensor(v) for v in d.non_trainable_variables], x, training=True)
  assert tuple(logits.shape) == (2, 1)
  assert len(non_trainable) == len(d.non_trainable_variables) == 11


@pytest.mark.parametrize("call,message", [
    (lambda: _build(keras, "dcgan", (48, 48, 3)),
     "generator: 'dcgan' does not support data shape (48, 48, 3)"),
    (lambda: ARCHITECTURES.get("dcgan").discriminator(keras, DataSpec((32, 32, 4))),
     "discriminator: 'dcgan' does not support data shape (32, 32, 4); "
     "supported: 28x28, 32x32, 64x64 images with 1 or 3 channels"),
    (lambda: _build(keras, "resnet", (64, 64, 3)),
     "generator: 'resnet' does not support data shape (64, 64, 3); supported: 32x32"),
    (lambda: _build(keras, "dcgan", (28, 28, 1), None, {"norm": "layer_norm"}),
     "discriminator.norm: 'layer_norm' is not allowed; "
     "choose one of: batch_norm, none, spectral_norm"),
    (lambda: _build(keras, "dcgan", (28, 28, 1), {"base_channels": 0}),
     "generator.base_channels: 0 is not allowed"),
    (lambda: _build(keras, "resnet", (32, 32, 3), None, {"channels": 8.5}),
     "discriminator.channels: 8.5 is not allowed"),
])
def test_bad_input_is_a_one_line_user_error(call, message):
  with pytest.raises(UserError) as info:
    call()
  assert str(info.value).startswith(message) and "\n" not in str(info.value)
