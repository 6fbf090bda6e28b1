"""TF ops of StyleGAN2 (Karras et al. 2020, arXiv:1912.04958), written from the
official code's definitions (NVlabs/stylegan2-ada-pytorch, torch_utils/ops/
upfirdn2d.py, training/networks.py): FIR resampling with the [1, 3, 3, 1]
filter, modulated/demodulated convolution, minibatch standard deviation, and
the noise that is a function of G's input.

All tensors are NHWC. Pure functions: the layers in `style_layers.py` hold the
weights and call these.
"""
import math

import numpy as np
import tensorflow as tf

LRELU_GAIN = math.sqrt(2.0)  # bias_act's def_gain for lrelu: keeps unit variance


def lrelu(x):
  return tf.nn.leaky_relu(x, 0.2) * tf.cast(LRELU_GAIN, x.dtype)


def _fir(channels, gain, dtype):
  """The separable [1, 3, 3, 1] filter, normalised to sum `gain`, as a
  depthwise kernel [4, 4, channels, 1]."""
  f = np.array([1.0, 3.0, 3.0, 1.0])
  f = np.outer(f, f)
  f = f / f.sum() * gain
  return tf.constant(np.tile(f[:, :, None, None], [1, 1, channels, 1]), dtype)


def blur(x, pad0, pad1, gain=1.0, stride=1):
  """upfirdn2d's filter step: pad (pad0 before, pad1 after) then the FIR filter."""
  x = tf.pad(x, [[0, 0], [pad0, pad1], [pad0, pad1], [0, 0]])
  return tf.nn.depthwise_conv2d(x, _fir(x.shape[-1], gain, x.dtype),
                                [1, stride, stride, 1], "VALID")


def upsample2x(x):
  """upfirdn2d.upsample2d: zeros between samples, then the filter at gain 4
  with padding (2, 1): [B, H, W, C] -> [B, 2H, 2W, C]."""
  shape = tf.shape(x)
  b, h, w, c = shape[0], shape[1], shape[2], x.shape[-1]
  x = tf.reshape(x, [b, h, 1, w, 1, c])
  x = tf.pad(x, [[0, 0], [0, 0], [0, 1], [0, 0], [0, 1], [0, 0]])
  x = tf.reshape(x, [b, 2 * h, 2 * w, c])
  return blur(x, 2, 1, gain=4.0)


def downsample2x(x):
  """upfirdn2d.downsample2d: the filter with padding (1, 1), every second sample."""
  return blur(x, 1, 1, stride=2)


def conv_down(x, kernel):
  """conv2d_resample with down=2 and a k x k kernel (k > 1): blur with padding
  (k + 1) / 2 on each side, then a stride-2 VALID convolution."""
  pad = (4 - 2) + (kernel.shape[0] - 1)
  x = blur(x, (pad + 1) // 2, pad // 2)
  return tf.nn.conv2d(x, kernel, 2, "VALID")


def modulated_conv(x, weight, styles, demodulate):
  """Modulated convolution (eq. 1-3), in the official non-fused form.

  x [B, H, W, I]; weight [k, k, I, O] (gain already applied); styles [B, I].
  The input is scaled per channel by the style, convolved with the shared
  weight, and (demodulate) each output channel divided by the norm its
  modulated weight would have: the same result as a per-sample weight.
  """
  styles = tf.cast(styles, x.dtype)
  y = tf.nn.conv2d(x * styles[:, None, None, :], tf.cast(weight, x.dtype), 1, "SAME")
  if demodulate:
    w2 = tf.reduce_sum(tf.square(tf.cast(weight, tf.float32)), axis=[0, 1])  # [I, O]
    d = tf.math.rsqrt(tf.matmul(tf.square(tf.cast(styles, tf.float32)), w2) + 1e-8)
    y = y * tf.cast(d[:, None, None, :], y.dtype)
  return y


def group_size(batch, group):
  """The largest size <= `group` that divides `batch` (the official code asserts
  divisibility; a static batch lets every size work)."""
  if batch is None:
    return group
  return max(g for g in range(1, min(group, batch) + 1) if batch % g == 0)


def minibatch_stddev(x, group, channels=1):
  """Appends `channels` maps of the std over groups of `group` samples.

  As the official MinibatchStdLayer: sample k of a group is k, k + n, k + 2n
  (n = batch / group), the std is averaged over pixels and channels of each
  of the `channels` slices, then tiled back to every sample and pixel.
  """
  b = x.shape[0]
  g = group_size(b, group)
  # Static sizes where known: XLA needs the Tile gradient's shapes at compile time.
  h, w = (x.shape[i] if x.shape[i] is not None else tf.shape(x)[i] for i in (1, 2))
  c = x.shape[-1]
  y = tf.reshape(tf.cast(x, tf.float32), [g, -1, h, w, channels, c // channels])
  y = y - tf.reduce_mean(y, axis=0)
  y = tf.sqrt(tf.reduce_mean(tf.square(y), axis=0) + 1e-8)    # [n, H, W, F, c]
  y = tf.reduce_mean(y, axis=[1, 2, 4])                       # [n, F]
  y = tf.tile(y[:, None, None, :], [g, h, w, 1])              # [B, H, W, F]
  return tf.concat([x, tf.cast(y, x.dtype)], axis=-1)


def latent_seed(z, salt):
  """A stateless-RNG seed [2] that is a function of the latent batch `z`.

  G's noise inputs and style-mixing draws read it, so G stays a function of
  its input: every update rule that calls G on the same z sees the same
  noise (`--verify` compares them), and a sample is reproducible from z.
  """
  bits = tf.bitcast(tf.reduce_sum(tf.cast(z, tf.float32) * 0.618034), tf.int32)
  return tf.stack([bits, tf.constant(salt, tf.int32)])


def normalize_2nd_moment(x):
  x = tf.cast(x, tf.float32)
  return x * tf.math.rsqrt(tf.reduce_mean(tf.square(x), axis=-1, keepdims=True) + 1e-8)
