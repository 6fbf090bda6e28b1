"""ADA's geometric ops (tfgan1.gan.ada_geometry): the resampler against exact
pixel moves, each op's parameters against the reference's laws, gradients; and
its image-space filtering (tfgan1.gan.ada_filter) against the reference."""
import math

import numpy as np
import pytest

from tfgan1 import tfimport
from tfgan1.config.sections import ADA_POLICY
from tfgan1.gan import ada_filter
from tfgan1.gan import ada_geometry as geo
from tfgan1.gan.augment import Augment

tf = tfimport.tensorflow()
X = tf.random.stateless_normal([3, 6, 6, 2], [1, 2])


def _same(matrix):
  return tf.tile(tf.constant([matrix], tf.float32), [3, 1, 1])


def test_resample_moves_pixels_exactly_at_integer_coordinates():
  x = X.numpy()
  np.testing.assert_array_equal(geo.resample(X, _same([[1, 0, 0], [0, 1, 0]])), x)
  # Output (u, v) reads input (u - 1, v): a shift right by one, reflected at the edge.
  shifted = geo.resample(X, _same([[1, 0, -1], [0, 1, 0]])).numpy()
  np.testing.assert_allclose(shifted[:, :, 1:], x[:, :, :-1], atol=1e-6)
  np.testing.assert_allclose(shifted[:, :, 0], x[:, :, 1], atol=1e-6)  # reflect: -1 reads 1
  # A quarter turn about the centre is rot90 (square images).
  turned = geo.resample(X, _same([[0, -1, 0], [1, 0, 0]])).numpy()
  np.testing.assert_allclose(turned, np.rot90(x, 1, axes=(1, 2)), atol=1e-5)


def test_resample_is_bilinear_between_pixels():
  # Half a pixel right: the mean of each pixel and its left neighbour.
  half = geo.resample(X, _same([[1, 0, -0.5], [0, 1, 0]])).numpy()
  x = X.numpy()
  np.testing.assert_allclose(half[:, :, 1:], (x[:, :, 1:] + x[:, :, :-1]) / 2, atol=1e-6)


def _law(name, n=4096):
  x = tf.zeros([n, 8, 16, 1])
  return geo.INVERSES[name](x, tf.constant([7, 8])).numpy()


def test_each_op_draws_the_references_parameters():
  # NVlabs/stylegan2-ada-pytorch training/augment.py (375a436): scale_std 0.2,
  # rotate_max 1 (full circle), aniso_std 0.2, xfrac_std 0.125, all per image.
  m = _law("scale")
  assert np.allclose(m[:, 0, 0], m[:, 1, 1]) and np.all(m[:, 0, 1] == 0)
  assert np.std(-np.log2(m[:, 0, 0])) == pytest.approx(0.2, abs=0.01)
  m = _law("rotate")
  theta = np.arctan2(m[:, 1, 0], m[:, 0, 0])
  np.testing.assert_allclose(np.linalg.det(m[:, :, :2]), 1.0, atol=1e-5)
  assert np.std(theta) == pytest.approx(math.pi / math.sqrt(3), abs=0.05)  # U(-pi, pi)
  m = _law("aniso")
  np.testing.assert_allclose(np.linalg.det(m[:, :, :2]), 1.0, atol=1e-4)  # area kept
  np.testing.assert_allclose(m[:, 0, 1], m[:, 1, 0], atol=1e-6)           # symmetric
  stretch = np.linalg.eigvalsh(m[:, :, :2])[:, 1]
  # |log2 s| of s ~ 2^N(0, 0.2^2): a half-normal, mean 0.2 * sqrt(2 / pi).
  assert np.mean(np.log2(stretch)) == pytest.approx(0.2 * math.sqrt(2 / math.pi), abs=0.01)
  m = _law("xfrac")
  assert np.std(m[:, 0, 2]) == pytest.approx(0.125 * 16, rel=0.05)  # width 16
  assert np.std(m[:, 1, 2]) == pytest.approx(0.125 * 8, rel=0.05)   # height 8


@pytest.mark.parametrize("name", sorted(geo.OPS))
def test_ops_are_stateless_and_pass_gradients_to_every_pixel(name):
  seed = tf.constant([3, 4])
  with tf.GradientTape() as tape:
    tape.watch(X)
    y = geo.OPS[name](X, seed)
    total = tf.reduce_sum(y * X)
  np.testing.assert_array_equal(geo.OPS[name](X, seed), y)
  # d/dx sum(resample(x) * x) = resample(x) + resample^T(x), computed by hand:
  # the adjoint of resampling is the sum of each output's bilinear weights.
  grad = tape.gradient(total, X).numpy()
  with tf.GradientTape() as tape:
    probe = tf.ones_like(X)
    tape.watch(probe)
    adjoint = tape.gradient(tf.reduce_sum(geo.OPS[name](probe, seed) * X), probe)
  np.testing.assert_allclose(grad, y.numpy() + adjoint.numpy(), atol=1e-5)
  assert float(tf.reduce_max(tf.abs(y - X))) > 1e-3  # the seed moved the images


# Image-space filtering (tfgan1.gan.ada_filter).

def test_filter_bank_splits_the_spectrum_into_four_bands():
  bank = ada_filter.filter_bank()
  assert bank.shape == (4, 43)
  np.testing.assert_allclose(bank, bank[:, ::-1], atol=1e-12)        # zero phase
  delta = np.zeros(43)
  delta[21] = 1.0
  np.testing.assert_allclose(bank.sum(axis=0), delta, atol=1e-9)     # bands sum to identity
  np.testing.assert_allclose(bank.sum(axis=1), [1, 0, 0, 0], atol=1e-9)  # DC: lowest band
  nyquist = bank @ (-1.0) ** np.arange(43)
  assert abs(nyquist[3]) > 0.99 and np.all(np.abs(nyquist[:3]) < 1e-9)


def test_imgfilter_matches_a_numpy_transcription_of_the_reference():
  # training/augment.py (375a436): t_i = 2^N(0, 1) per band with probability p,
  # t / sqrt(sum(expected_power * t^2)), g *= t; Hz' = g @ Hz_fbank; reflect-pad,
  # then the separable filter along rows and columns.
  x = tf.random.stateless_normal([3, 28, 28, 2], [5, 6])
  seed, p = tf.constant([8, 9]), 0.6
  got = ada_filter.imgfilter(x, seed, p).numpy()
  fold = tf.random.experimental.stateless_fold_in
  g = np.ones([3, 4])
  for i in range(4):
    t_i = 2.0 ** tf.random.stateless_normal([3], fold(seed, 2 * i)).numpy()
    drawn = tf.random.stateless_uniform([3], fold(seed, 2 * i + 1)).numpy() < p
    t = np.ones([3, 4])
    t[:, i] = np.where(drawn, t_i, 1.0)
    g *= t / np.sqrt((ada_filter.EXPECTED_POWER * t * t).sum(axis=1, keepdims=True))
  kernels = g @ ada_filter.filter_bank()
  xs = x.numpy()
  for b in range(3):
    img = np.pad(xs[b], [(21, 21), (21, 21), (0, 0)], mode="reflect")
    cols = np.empty((28, img.shape[1], 2))
    for j in range(img.shape[1]):
      for c in range(2):
        cols[:, j, c] = np.correlate(img[:, j, c], kernels[b], "valid")
    want = np.empty((28, 28, 2))
    for r in range(28):
      for c in range(2):
        want[r, :, c] = np.correlate(cols[r, :, c], kernels[b], "valid")
    np.testing.assert_allclose(got[b], want, atol=1e-4)
  assert len({tuple(np.round(r, 6)) for r in g}) > 1  # the images drew different gains


def test_imgfilter_is_the_identity_at_p_0_and_in_the_ada_pipeline():
  x = tf.random.stateless_normal([2, 8, 8, 1], [1, 1])  # smaller than the filter: reflects again
  np.testing.assert_array_equal(ada_filter.imgfilter(x, tf.constant([1, 2]), 0.0), x)
  assert "imgfilter" in ADA_POLICY.split(",")
  aug = Augment("imgfilter", 1.0)
  assert float(tf.reduce_max(tf.abs(aug(x, tf.constant([1, 2])) - x))) > 1e-3
