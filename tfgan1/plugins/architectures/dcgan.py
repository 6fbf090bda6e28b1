"""DCGAN networks (Radford et al. 2016, arXiv:1511.06434) for 28, 32 and 64 pixels.

G: Dense -> reshape to a small square -> stride-2 Conv2DTranspose stack with
BatchNorm + ReLU -> tanh. D mirrors it with stride-2 Conv2D + LeakyReLU(0.2) and
ends in a Dense logit. Widths follow the paper's 64x64 model: with
`base_channels` b, G starts at b * 2^(n-1) channels and halves at every
up-sampling, D starts at b and doubles (n = number of stride-2 layers).

`conditional: true` (labelled data): G takes [noise, labels], joins the one-hot
label to the noise and uses class-conditional BatchNorm; D takes [images, labels]
and ends in a projection head (see conditional.py). The joined label gives each
class its own learned 7x7 (or 8x8) start map: with only two BatchNorms in G, the
per-channel gamma[y], beta[y] alone are spatially uniform and conditioned weakly
(mnist_cdcgan: 20% class accuracy at step 2000 without the join).

The helpers here (`image_shape`, `positive_int`, `leaky_relu`, `maybe_spectral`,
`sum_pool`, `logit_model`, `generator_inputs`, `bn_relu`) are shared with `resnet.py`.
"""
from tfgan1 import ARCHITECTURES, UserError
from tfgan1.plugins.architectures import conditional as cond
from tfgan1.plugins.architectures.spectral_norm import spectral_norm_wrapper

# Resolution -> side of G's first feature map (and of D's last): 28 = 7 * 2^2,
# 32 = 4 * 2^3, 64 = 4 * 2^4.
_START = {28: 7, 32: 4, 64: 4}
_NORMS = ("batch_norm", "none", "spectral_norm")


def image_shape(field, arch, spec, resolutions, width=None):
  """(resolution, channels) of a square 1- or 3-channel image spec, else UserError.

  `width`: (its kwarg name, value), a layer width of the network that must be a
  positive integer.
  """
  shape = tuple(spec.shape)
  if (len(shape) != 3 or shape[0] != shape[1] or shape[0] not in resolutions
      or shape[2] not in (1, 3)):
    sides = ", ".join(f"{r}x{r}" for r in sorted(resolutions))
    raise UserError(f"{field}: {arch!r} does not support data shape {shape}; "
                    f"supported: {sides} images with 1 or 3 channels")
  if width is not None:
    positive_int(f"{field}.{width[0]}", width[1])
  return shape[0], shape[2]


def positive_int(field, value):
  if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
    raise UserError(f"{field}: {value!r} is not allowed; expected a positive integer")
  return value


def leaky_relu(keras, slope=0.2):
  # Keras 3 names the slope `negative_slope`, tf_keras (Keras 2) `alpha`.
  try:
    return keras.layers.LeakyReLU(negative_slope=slope)
  except TypeError:
    return keras.layers.LeakyReLU(alpha=slope)


def maybe_spectral(keras, layer, spectral):
  """Wraps `layer` in `SpectralNorm` (pure forward; `u` moves after D updates)."""
  return spectral_norm_wrapper(keras)(layer) if spectral else layer


def sum_pool(keras, x):
  """Global sum pooling as mean * area: both Keras versions have these layers."""
  area = x.shape[1] * x.shape[2]
  return keras.layers.Rescaling(float(area))(keras.layers.GlobalAveragePooling2D()(x))


def logit_model(keras, inputs, h, classes, spectral, name, pooled=None,
                head="projection"):
  """D's model: a Dense logit on features h, plus the projection head (or the
  ACGAN or D2D-CE head, `head`) on `pooled` features (default h) when `classes` (the
  model then takes labels)."""
  x = maybe_spectral(keras, keras.layers.Dense(1), spectral)(h)
  if classes:
    labels = cond.label_input(keras)
    pooled = h if pooled is None else pooled
    wrap = lambda layer: maybe_spectral(keras, layer, spectral)
    onehot = cond.one_hot(keras, labels, classes)
    x = cond.head_outputs(keras, head, pooled, x, onehot, classes, wrap)
    inputs = [inputs, labels]
  logits = keras.layers.Activation("linear", dtype="float32")(x)
  return keras.Model(inputs, logits, name=name)


def generator_inputs(keras, spec, latent_dim, conditional):
  """(noise z, G's model inputs, one-hot labels or None): [z, labels] and the
  labels' one-hot, which class-conditional BN reads, when `conditional`."""
  classes = cond.check_classes("generator", spec, conditional)
  z = keras.Input((latent_dim,))
  if not classes:
    return z, z, None
  labels = cond.label_input(keras)
  return z, [z, labels], cond.one_hot(keras, labels, classes)


def _num_strided(resolution):
  return (resolution // _START[resolution]).bit_length() - 1


def bn_relu(keras, x, onehot=None):
  """BN + ReLU; class-conditional BN when `onehot` labels are given."""
  if onehot is None:
    x = keras.layers.BatchNormalization()(x)
  else:
    x = cond.conditional_batch_norm(keras, x, onehot)
  return keras.layers.ReLU()(x)


@ARCHITECTURES.register("dcgan")
class DCGAN:
  """DCGAN generator and discriminator sized by the data spec."""

  @staticmethod
  def generator(keras, spec, latent_dim, base_channels=64, conditional=False):
    """`conditional`: inputs [noise, labels], class-conditional BatchNorm."""
    resolution, channels = image_shape("generator", "dcgan", spec, _START,
                                       ("base_channels", base_channels))
    strided = _num_strided(resolution)
    side, width = _START[resolution], base_channels * 2 ** (strided - 1)
    z, inputs, onehot = generator_inputs(keras, spec, latent_dim, conditional)
    # No biases before BatchNorm: its beta makes them redundant.
    first = z if onehot is None else keras.layers.Concatenate()([z, onehot])
    x = keras.layers.Dense(side * side * width, use_bias=False)(first)
    x = bn_relu(keras, keras.layers.Reshape((side, side, width))(x), onehot)
    for _ in range(strided - 1):
      width //= 2
      x = keras.layers.Conv2DTranspose(width, 4, strides=2, padding="same",
                                       use_bias=False)(x)
      x = bn_relu(keras, x, onehot)
    x = keras.layers.Conv2DTranspose(channels, 4, strides=2, padding="same")(x)
    # float32 output whatever the precision policy: losses and images expect it.
    out = keras.layers.Activation("tanh", dtype="float32")(x)
    return keras.Model(inputs, out, name="dcgan_generator")

  @staticmethod
  def discriminator(keras, spec, base_channels=64, norm="spectral_norm",
                    conditional=False, head="projection"):
    """`conditional`: inputs [images, labels], a projection head, or with `head:
    acgan` ACGAN's auxiliary classifier (outputs [logit, log p(y|x)], for the
    `acgan` loss family), with `head: d2dce` ReACGAN's embedding and class proxy
    (outputs [logit, embedding, proxy], for the `d2dce` loss family)."""
    cond.check_head(head)
    resolution, _ = image_shape("discriminator", "dcgan", spec, _START,
                                ("base_channels", base_channels))
    classes = cond.check_classes("discriminator", spec, conditional)
    if norm not in _NORMS:
      raise UserError(f"discriminator.norm: {norm!r} is not allowed; "
                      f"choose one of: {', '.join(_NORMS)}")
    spectral = norm == "spectral_norm"
    inputs = keras.Input(spec.shape)
    x, width = inputs, base_channels
    for i in range(_num_strided(resolution)):
      conv = keras.layers.Conv2D(width, 4, strides=2, padding="same")
      x = maybe_spectral(keras, conv, spectral)(x)
      if norm == "batch_norm" and i > 0:  # the paper leaves D's input layer unnormalized
        x = keras.layers.BatchNormalization()(x)
      x = leaky_relu(keras)(x)
      width *= 2
    h = keras.layers.Flatten()(x)
    # The projection reads sum-pooled features, as SNGAN's phi(x): a per-class
    # vector as wide as the last conv, not as the flattened map (a first run
    # projecting the flattened 7x7x128 map let D overpower G).
    pooled = sum_pool(keras, x) if classes else None
    return logit_model(keras, inputs, h, classes, spectral, "dcgan_discriminator", pooled,
                       head)
