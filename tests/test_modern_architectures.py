"""BigGAN and StyleGAN2 (issue 33): shapes, parameter counts against published
figures, the StyleGAN2 ops against their definitions, the shared-form refusal,
path-length regularisation, truncation with the hierarchical latent, lazy R1."""
import numpy as np
import pytest

from tfgan1 import tfimport

tf = tfimport.tensorflow()
import keras  # noqa: E402
import tf_keras  # noqa: E402

import tfgan1.plugins.architectures  # noqa: E402,F401  registers the plugins
from tfgan1 import ARCHITECTURES, UserError  # noqa: E402
from tfgan1 import config as config_lib  # noqa: E402
from tfgan1.plugins.architectures import biggan, style_ops  # noqa: E402
from tfgan1.registry.spec import DataSpec  # noqa: E402

TINY_BIGGAN = dict(channels=4, attention=16, init="n02")
TINY_STYLE = dict(channel_base=128, channel_max=16)
TINY_STYLE_G = dict(TINY_STYLE, w_dim=8, mapping_layers=2)


def _trainable(model):
  return sum(int(np.prod(v.shape)) for v in model.trainable_weights)


def _layers(model, name):
  return [l for l in model._flatten_layers(include_self=False) if type(l).__name__ == name]


@pytest.mark.parametrize("km,shape,classes", [(keras, (32, 32, 3), 10),
                                               (tf_keras, (28, 28, 1), None)],
                         ids=["keras3_conditional", "tf_keras_mnist"])
def test_biggan_builds_and_splits_the_latent(km, shape, classes):
  arch = ARCHITECTURES.get("biggan")
  spec = DataSpec(shape, num_classes=classes)
  cond = classes is not None
  g = arch.generator(km, spec, 16, shared_dim=8, conditional=cond, **TINY_BIGGAN)
  d = arch.discriminator(km, spec, conditional=cond, **TINY_BIGGAN)
  z = tf.random.stateless_normal([4, 16], [1, 2])
  labels = tf.constant([0, 1, 2, 3])
  fake = g([z, labels] if cond else z, training=True)
  logits = d([fake, labels] if cond else fake, training=True)
  assert tuple(fake.shape) == (4, *shape) and tuple(logits.shape) == (4, 1)
  # 3 blocks at 32x32: z splits into 4 chunks of 4; the first Dense reads one,
  # each conditional BN's gain and bias read [embedding (8), chunk (4)].
  dense_in = sorted({int(l.layer.kernel.shape[0]) for l in _layers(g, "SpectralNorm")
                     if isinstance(l.layer, km.layers.Dense)})
  assert dense_in == ([4, 12] if cond else [4])
  assert len(_layers(g, "ScalarGain")) == 1 and len(_layers(d, "ScalarGain")) == 1
  # Spectral norm on every conv and Dense but G's class embedding.
  plain = [l for m in (g, d) for l in m._flatten_layers(include_self=False)
           if isinstance(l, (km.layers.Conv2D, km.layers.Dense))
           and not any(s.layer is l for s in _layers(m, "SpectralNorm"))]
  assert len(plain) == (1 if cond else 0)


def test_biggan_noise_dim_must_split_evenly():
  with pytest.raises(UserError, match="noise.dim: 10 .* multiple of 4"):
    ARCHITECTURES.get("biggan").generator(keras, DataSpec((32, 32, 3)), 10, **TINY_BIGGAN)


def test_biggan_parameter_count_matches_compare_gan_at_128(monkeypatch):
  # google/compare_gan compare_gan/architectures/resnet_biggan.py (commit 9b16cbb1),
  # module docstring, 128x128, ch 96, z_dim 120, attention B4 (G) / B1 (D):
  # "Number of parameters: (D) 87,982,370 (G) 70,433,988". BigGAN-PyTorch BigGAN.py
  # (G_arch/D_arch, 1000 classes, shared_dim 128, hier) lays out the same layers.
  monkeypatch.setitem(biggan.INITS, "zeros", "zeros")  # the count, fast
  arch = ARCHITECTURES.get("biggan")
  spec = DataSpec((128, 128, 3), num_classes=1000)
  g = arch.generator(keras, spec, 120, conditional=True, init="zeros")
  assert _trainable(g) == 70_433_988
  del g
  d = arch.discriminator(keras, spec, conditional=True, init="zeros")
  assert _trainable(d) == 87_982_370


def test_truncation_reaches_every_chunk_of_the_hierarchical_latent():
  from tfgan1.evaluation import sampling
  cfg = config_lib.from_dict({"generator": "biggan", "discriminator": "biggan",
                              "loss": "hinge", "data": "mnist", "noise": {"dim": 16}})
  z = sampling.noise(cfg, tf.random.Generator.from_seed(0), 6, truncation=0.5)
  g = ARCHITECTURES.get("biggan").generator(keras, DataSpec((32, 32, 3)), 16, **TINY_BIGGAN)
  # Truncation acts per entry, so each of the 4 chunks (one per block) is inside it.
  assert np.abs(z).max() <= 0.5 and np.abs(z).reshape(6, 4, 4).max(axis=(0, 2)).min() > 0.1
  out = sampling.generate(g, z)
  assert out.shape == (6, 32, 32, 3) and np.isfinite(out).all()


def test_stylegan2_parameter_count_config_f_at_256():
  # Config F (channel base 32768, max 512, 8 mapping layers, w 512): the official
  # layer list (NVlabs/stylegan2-ada-pytorch training/networks.py) counted by hand:
  # mapping 8 x (512^2 + 512); const; per layer affine + 3x3 conv + bias + noise
  # strength; ToRGB affine + 1x1 conv; D FromRGB, blocks (two 3x3, a 1x1 skip),
  # epilogue conv (+1 mbstd channel), Dense 16C -> C, Dense C -> 1. These are
  # 30.0M (G) and 28.9M (D) to one decimal.
  arch = ARCHITECTURES.get("stylegan2")
  spec = DataSpec((256, 256, 3))
  g = arch.generator(keras, spec, 512)
  d = arch.discriminator(keras, spec)
  assert (_trainable(g), _trainable(d)) == (30_034_338, 28_864_129)
  assert (round(_trainable(g) / 1e6, 1), round(_trainable(d) / 1e6, 1)) == (30.0, 28.9)


def test_stylegan2_builds_and_is_a_function_of_z(km=keras):
  arch = ARCHITECTURES.get("stylegan2")
  spec = DataSpec((28, 28, 1), num_classes=10)
  g = arch.generator(km, spec, 8, style_mixing=1.0, conditional=True, **TINY_STYLE_G)
  d = arch.discriminator(km, spec, conditional=True, **TINY_STYLE)
  z = tf.random.stateless_normal([4, 8], [1, 2])
  inputs = [z, tf.constant([0, 1, 2, 3])]
  fake = g(inputs, training=True)
  assert tuple(fake.shape) == (4, 28, 28, 1)
  assert tuple(d([fake, inputs[1]]).shape) == (4, 1)
  # Noise and mixing are drawn from z: the same z gives the same samples, and
  # mixing (probability 1) acts in training only.
  np.testing.assert_array_equal(g(inputs, training=True), fake)
  assert float(tf.reduce_max(tf.abs(g(inputs, training=False) - fake))) > 1e-4
  assert len(_layers(d, "MinibatchStd")) == 1


def test_stylegan2_tanh_output_bounds_g_and_bad_values_name_the_field():
  arch, spec = ARCHITECTURES.get("stylegan2"), DataSpec((28, 28, 1))
  z = tf.random.stateless_normal([4, 8], [3, 4])
  linear = arch.generator(keras, spec, 8, **TINY_STYLE_G)
  keras.utils.set_random_seed(0)
  tanh = arch.generator(keras, spec, 8, output="tanh", **TINY_STYLE_G)
  tanh.set_weights(linear.get_weights())  # same weights: only the output differs
  np.testing.assert_allclose(tanh(z), np.tanh(linear(z)), atol=1e-6)
  assert float(tf.reduce_max(tf.abs(linear(z)))) > 1.0  # so the bound is not vacuous
  with pytest.raises(UserError, match=r"generator.output: 'sigmoid' is not allowed; "
                     r"choose one of: linear, tanh"):
    arch.generator(keras, spec, 8, output="sigmoid", **TINY_STYLE_G)


def test_minibatch_std_tiles_by_static_multiples():
  # XLA needs the Tile gradient's shapes at compile time: with the batch size
  # unknown in the traced step, multiples read from tf.shape(x) made
  # cifar10_stylegan2's compiled step fail (lazy R1 differentiates through it).
  fn = tf.function(lambda x: style_ops.minibatch_stddev(x, 4)).get_concrete_function(
      tf.TensorSpec([None, 4, 4, 8]))
  tiles = [op for op in fn.graph.get_operations() if op.type == "Tile"]
  assert tiles and all(tf.get_static_value(op.inputs[1]) is not None for op in tiles)


def test_modulated_conv_equals_per_sample_demodulated_weights():
  # Karras et al. 2020 eq. 1-3: w' = s_i w_ijk, w'' = w' / sqrt(sum_ik w'^2 + eps).
  rng = np.random.default_rng(0)
  x = rng.standard_normal((2, 5, 5, 3)).astype(np.float32)
  w = rng.standard_normal((3, 3, 3, 4)).astype(np.float32)
  s = rng.standard_normal((2, 3)).astype(np.float32)
  got = style_ops.modulated_conv(tf.constant(x), w, tf.constant(s), True).numpy()
  for b in range(2):
    wb = w * s[b][None, None, :, None]
    wb = wb / np.sqrt((wb ** 2).sum(axis=(0, 1, 2), keepdims=True) + 1e-8)
    want = tf.nn.conv2d(x[b:b + 1], wb, 1, "SAME").numpy()
    np.testing.assert_allclose(got[b:b + 1], want, rtol=1e-5, atol=1e-5)


def test_minibatch_stddev_groups_strided_samples():
  # The official MinibatchStdLayer: group g holds samples k, k + n, ... (n = B / G).
  x = np.random.default_rng(1).standard_normal((8, 2, 2, 6)).astype(np.float32)
  got = style_ops.minibatch_stddev(tf.constant(x), 4, 2).numpy()
  grouped = x.reshape(4, 2, 2, 2, 2, 3)  # [G, n, H, W, F, c]
  std = np.sqrt(grouped.var(axis=0) + 1e-8).mean(axis=(1, 2, 4))  # [n, F]
  np.testing.assert_allclose(got[..., :6], x)
  np.testing.assert_allclose(got[:, 0, 0, 6:], np.tile(std, (4, 1)), rtol=1e-5)
  assert style_ops.group_size(6, 4) == 3


def test_fir_resampling_keeps_a_constant_image():
  ones = tf.ones([1, 8, 8, 2])
  up, down = style_ops.upsample2x(ones).numpy(), style_ops.downsample2x(ones).numpy()
  assert up.shape == (1, 16, 16, 2) and down.shape == (1, 4, 4, 2)
  np.testing.assert_allclose(up[0, 2:-2, 2:-2], 1.0, rtol=1e-6)
  np.testing.assert_allclose(down[0, 1:-1, 1:-1], 1.0, rtol=1e-6)


def _raw(tmp_path, sets=()):
  """A tiny StyleGAN2 config on 64 random 28x28 digits (a .npz in tmp_path)."""
  rng = np.random.default_rng(0)
  path = tmp_path / "digits.npz"
  np.savez(path, x_train=rng.integers(0, 255, (64, 28, 28), np.uint8))
  raw = {"generator": {"name": "stylegan2", **TINY_STYLE_G, "style_mixing": 0.5},
         "discriminator": {"name": "stylegan2", **TINY_STYLE},
         "loss": "non_saturating", "noise": {"dim": 8},
         "data": {"name": "mnist", "path": str(path), "split": "train"},
         "train": {"batch_size": 8, "one_step_form": "fused"}}
  return config_lib.from_dict(raw, list(sets))


def test_shared_form_is_refused_for_minibatch_std(tmp_path):
  from tfgan1.engine import preflight
  cfg = _raw(tmp_path, ["train.one_step_form=shared"])
  with pytest.raises(UserError, match=r"^train.one_step_form: 'shared' is not allowed "
                     r"with discriminator 'stylegan2': its minibatch standard deviation"):
    preflight.check_shared_form(cfg, None, None, None)
  assert ARCHITECTURES.get("stylegan2").batch_coupled({"mbstd_group": 1}) is None


def _linear_style_gan():
  """G = synthesis(mapping(z), z), the synthesis linear in the styles ws [2, 3]."""
  z = keras.Input((3,))
  ws = keras.layers.Reshape((2, 3))(keras.layers.Dense(6)(z))
  mapping = keras.Model(z, ws, name="stylegan2_mapping")
  ws_in, z_in = keras.Input((2, 3)), keras.Input((3,))
  img = keras.layers.Dense(16, use_bias=False)(keras.layers.Flatten()(ws_in))
  synthesis = keras.Model([ws_in, z_in], keras.layers.Reshape((4, 4, 1))(img),
                          name="stylegan2_synthesis")
  return keras.Model(z, synthesis([mapping(z), z])), mapping, synthesis


def test_path_length_golden_on_a_linear_synthesis():
  # Karras et al. 2020 eq. 4 as stylegan2-ada-pytorch training/loss.py computes it:
  # y ~ N(0, I) / sqrt(HW), length = sqrt(mean_ws sum_w (J^T y)^2) on the first
  # half batch, a <- a + 0.01 (mean length - a), penalty mean((length - a)^2).
  from tfgan1.plugins.penalties.path_length import PathLength
  g, mapping, synthesis = _linear_style_gan()
  z = tf.random.stateless_normal([4, 3], [5, 6])
  seed = tf.constant([7, 8])
  pl = PathLength()
  value = float(pl(g, z, seed))
  kernel = [l for l in synthesis.layers if isinstance(l, keras.layers.Dense)][0].kernel.numpy()
  y = tf.random.stateless_normal([2, 4, 4, 1], seed).numpy() / 4.0
  grads = (y.reshape(2, 16) @ kernel.T).reshape(2, 2, 3)
  lengths = np.sqrt((grads ** 2).sum(axis=2).mean(axis=1))
  a = 0.01 * lengths.mean()
  assert value == pytest.approx(((lengths - a) ** 2).mean(), rel=1e-5)
  pl.after_step({}, tf.constant(False))  # a step not kept leaves the mean
  assert float(pl.state["path_length_mean"]) == 0.0
  pl(g, z, seed)
  pl.after_step({}, tf.constant(True))
  assert float(pl.state["path_length_mean"]) == pytest.approx(a, rel=1e-5)
  pl.after_step({}, tf.constant(True))  # no penalty computed this step: unchanged
  assert float(pl.state["path_length_mean"]) == pytest.approx(a, rel=1e-5)
  with pytest.raises(UserError, match="path_length.*stylegan2_mapping"):
    pl(mapping, z, seed)


def test_path_length_on_stylegan2_is_checkpointed(tmp_path):
  # --verify with this penalty runs on configs/mnist_stylegan2.yaml (test_verify_configs).
  from tfgan1.backends.protocol import checkpoint_parts
  from tfgan1.gan.networks import Networks, PenaltyTerm
  from tfgan1.plugins.penalties.path_length import PathLength
  g = ARCHITECTURES.get("stylegan2").generator(keras, DataSpec((32, 32, 1)), 8,
                                               style_mixing=0.5, **TINY_STYLE_G)
  pl = PathLength()
  z = tf.random.stateless_normal([4, 8], [1, 2])
  assert float(pl(g, z, tf.constant([3, 4]))) > 0
  pl.after_step({}, tf.constant(True))
  mean = float(pl.state["path_length_mean"])
  assert mean == pytest.approx(0.01 * float(pl.state["path_length_batch_mean"]), rel=1e-5)
  networks = Networks(g, g, None, [PenaltyTerm("path_length", pl, 2.0, 4, "g")])
  parts = checkpoint_parts(tf.Variable(0, dtype=tf.int64), networks, {}, None,
                           tf.random.Generator.from_seed(0), None, None)
  parts = {k: v for k, v in parts.items() if v is not None}  # no loss scale here
  assert "regularisers" in parts
  path = tf.train.Checkpoint(**parts).save(str(tmp_path / "ckpt"))
  pl.state["path_length_mean"].assign(9.0)
  tf.train.Checkpoint(**parts).restore(path).assert_existing_objects_matched()
  assert float(pl.state["path_length_mean"]) == pytest.approx(mean, rel=1e-6)


def test_lazy_r1_is_gamma_over_2_every_16_at_weight_times_16():
  # Karras et al. 2020 sec. 4 / stylegan2-ada-pytorch loss.py: R1 = gamma / 2 *
  # E||grad D(x)||^2, computed every 16 D steps with its weight multiplied by 16.
  from tfgan1.gan import objectives
  from tfgan1.gan.networks import Networks, PenaltyTerm
  from tfgan1.plugins.penalties.zero_centered import R1
  w = np.array([[0.5], [-1.0], [2.0]], np.float32)
  x = keras.Input((3,))
  d = keras.Model(x, keras.layers.Dense(1, use_bias=False, kernel_initializer=
                                        keras.initializers.Constant(w))(x))
  gan = Networks(None, d, None, [PenaltyTerm("r1", R1(), 0.01, 16)])
  real = tf.ones([4, 3])
  at = lambda step: float(objectives.penalty_terms(  # noqa: E731
      gan, real, real, tf.constant([0, 0]), tf.constant(step))[0])
  assert at(0) == pytest.approx(16 * 0.01 / 2 * float((w ** 2).sum()), rel=1e-6)
  assert at(16) == at(0) and at(1) == 0.0 and at(15) == 0.0
