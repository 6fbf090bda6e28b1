"""The SNGAN ResNet for 32x32 images (Miyato et al. 2018, arXiv:1802.05957, table 4).

G: z -> Dense to 4x4xC -> 3 up-sampling residual blocks (4 -> 8 -> 16 -> 32)
-> BN -> ReLU -> 3x3 conv -> tanh. Block: BN-ReLU-upsample-conv3x3-BN-ReLU-conv3x3,
plus an upsample -> 1x1 conv shortcut.
D: an "optimized" first block (conv-ReLU-conv-avgpool, shortcut avgpool -> 1x1
conv), a down-sampling block and two plain blocks (ReLU-conv-ReLU-conv), ReLU,
global sum pooling, Dense to 1; every conv and dense is spectrally normalized.

Initializers follow the authors' Chainer code: Glorot-uniform with gain sqrt(2)
inside residual branches, gain 1 for shortcuts, the first Dense and the last conv.

Spectral normalization is tfgan1's `SpectralNorm` wrapper (spectral_norm.py, Keras 3
and tf_keras alike): as in the paper's code the gradient flows through sigma, and
the forward pass assigns nothing (one-step compatible); the power-iteration vector
moves once per D update.
"""
from tfgan1 import ARCHITECTURES
from tfgan1.plugins.architectures import conditional as cond
from tfgan1.plugins.architectures.dcgan import (bn_relu, generator_inputs, image_shape,
                                                logit_model, maybe_spectral,
                                                sum_pool)

_RESOLUTIONS = (32,)


def _residual_init(keras):
  # Glorot uniform scaled by gain sqrt(2): variance scale = gain^2.
  return keras.initializers.VarianceScaling(2.0, mode="fan_avg", distribution="uniform")


def _conv(keras, channels, size, spectral, residual):
  init = _residual_init(keras) if residual else "glorot_uniform"
  conv = keras.layers.Conv2D(channels, size, padding="same", kernel_initializer=init)
  return maybe_spectral(keras, conv, spectral)


def _g_block(keras, x, channels, onehot=None):
  h = bn_relu(keras, x, onehot)
  h = keras.layers.UpSampling2D(2)(h)
  h = _conv(keras, channels, 3, False, True)(h)
  h = bn_relu(keras, h, onehot)
  h = _conv(keras, channels, 3, False, True)(h)
  shortcut = _conv(keras, channels, 1, False, False)(keras.layers.UpSampling2D(2)(x))
  return keras.layers.Add()([h, shortcut])


def _d_first_block(keras, x, channels):
  h = _conv(keras, channels, 3, True, True)(x)
  h = _conv(keras, channels, 3, True, True)(keras.layers.ReLU()(h))
  h = keras.layers.AveragePooling2D(2)(h)
  # Pool, then 1x1 conv (as the authors' code): both are linear, so the order
  # does not change the function, and this one is 4x cheaper.
  shortcut = keras.layers.AveragePooling2D(2)(x)
  shortcut = _conv(keras, channels, 1, True, False)(shortcut)
  return keras.layers.Add()([h, shortcut])


def _d_block(keras, x, channels, downsample):
  h = _conv(keras, channels, 3, True, True)(keras.layers.ReLU()(x))
  h = _conv(keras, channels, 3, True, True)(keras.layers.ReLU()(h))
  shortcut = x
  if downsample or x.shape[-1] != channels:  # a learnable shortcut only when needed
    shortcut = _conv(keras, channels, 1, True, False)(x)
  if downsample:
    h = keras.layers.AveragePooling2D(2)(h)
    shortcut = keras.layers.AveragePooling2D(2)(shortcut)
  return keras.layers.Add()([h, shortcut])


@ARCHITECTURES.register("resnet")
class ResNet:
  """SNGAN's CIFAR-10 ResNet (Miyato et al. 2018, table 4): G with `channels`
  (256) and D with `channels` (128)."""

  @staticmethod
  def generator(keras, spec, latent_dim, channels=256, conditional=False):
    """`conditional`: inputs [noise, labels], class-conditional BatchNorm."""
    _, out_channels = image_shape("generator", "resnet", spec, _RESOLUTIONS,
                                  ("channels", channels))
    z, inputs, onehot = generator_inputs(keras, spec, latent_dim, conditional)
    x = keras.layers.Dense(4 * 4 * channels)(z)
    x = keras.layers.Reshape((4, 4, channels))(x)
    for _ in range(3):
      x = _g_block(keras, x, channels, onehot)
    x = bn_relu(keras, x, onehot)
    x = _conv(keras, out_channels, 3, False, False)(x)
    out = keras.layers.Activation("tanh", dtype="float32")(x)
    return keras.Model(inputs, out, name="resnet_generator")

  @staticmethod
  def discriminator(keras, spec, channels=128, conditional=False):
    """`conditional`: inputs [images, labels], a projection head (SNGAN cGAN)."""
    image_shape("discriminator", "resnet", spec, _RESOLUTIONS, ("channels", channels))
    classes = cond.check_classes("discriminator", spec, conditional)
    inputs = keras.Input(spec.shape)
    x = _d_first_block(keras, inputs, channels)             # 32 -> 16
    x = _d_block(keras, x, channels, downsample=True)       # 16 -> 8
    x = _d_block(keras, x, channels, downsample=False)
    x = _d_block(keras, x, channels, downsample=False)
    x = keras.layers.ReLU()(x)
    # Global sum pooling: the factor matters, since the Dense after it is
    # spectrally normalized.
    h = sum_pool(keras, x)
    return logit_model(keras, inputs, h, classes, True, "resnet_discriminator")
