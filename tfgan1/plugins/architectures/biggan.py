"""BigGAN (Brock et al. 2019, "Large Scale GAN Training for High Fidelity Natural
Image Synthesis", arXiv:1809.11096), laid out as ajbrock/BigGAN-PyTorch BigGAN.py
and layers.py (G_arch / D_arch, GBlock, DBlock, ccbn, Attention).

G: the latent is hierarchical: z splits into (blocks + 1) equal chunks, the
first feeds a Dense to a 4x4 map, each later one joins the shared class
embedding (one table for all blocks, `shared_dim` wide) as the input of that
block's conditional BatchNorms (gain 1 + W_g c, bias W_b c, c = [embed(y), z_i]).
Up-sampling residual blocks (BN-ReLU-up-conv3-BN-ReLU-conv3, shortcut
up-conv1), one self-attention block (SAGAN) after the block reaching
`attention` pixels, then BN-ReLU-conv3-tanh. Without labels c = z_i.
D: residual down-sampling blocks (the first without pre-activation), the same
attention block, ReLU, global sum pooling, Dense to the logit plus the
projection head. Spectral norm (tfgan1's wrapper) on every conv and Dense of
G and D except G's class embedding, as the reference code; orthogonal
initialisation (`init`). Widths: `channels` (the paper's ch) times the
per-block multipliers of BigGAN-PyTorch's G_arch / D_arch.

28x28 data (MNIST) runs at 32x32 (G's output cropped, D's input padded).
"""
from tfgan1 import ARCHITECTURES, UserError
from tfgan1.plugins.architectures import conditional as cond
from tfgan1.plugins.architectures import style_layers
from tfgan1.plugins.architectures.dcgan import maybe_spectral, sum_pool
from tfgan1.plugins.architectures.stylegan2 import crop_to, net_resolution, pad_from

# BigGAN-PyTorch G_arch / D_arch: (in multipliers, out multipliers) per block.
G_ARCH = {32: ([4, 4, 4], [4, 4, 4]), 64: ([16, 16, 8, 4], [16, 8, 4, 2]),
          128: ([16, 16, 8, 4, 2], [16, 8, 4, 2, 1]),
          256: ([16, 16, 8, 8, 4, 2], [16, 8, 8, 4, 2, 1])}
D_ARCH = {32: ([4, 4, 4], [4, 4, 4, 4], 2), 64: ([1, 2, 4, 8], [1, 2, 4, 8, 16], 4),
          128: ([1, 2, 4, 8, 16], [1, 2, 4, 8, 16, 16], 5),
          256: ([1, 2, 4, 8, 8, 16], [1, 2, 4, 8, 8, 16, 16], 6)}  # (.., downsampling blocks)
INITS = {"ortho": "orthogonal", "glorot": "glorot_uniform", "n02": None}


def _init(keras, init):
  if init not in INITS:
    raise UserError(f"init: {init!r} is not allowed; choose one of: {', '.join(INITS)}")
  return INITS[init] or keras.initializers.RandomNormal(0.0, 0.02)


def _conv(keras, filters, size, init, use_bias=True):
  conv = keras.layers.Conv2D(filters, size, padding="same", use_bias=use_bias,
                             kernel_initializer=init)
  return maybe_spectral(keras, conv, True)


def _dense(keras, units, init, use_bias=True):
  return maybe_spectral(keras, keras.layers.Dense(units, use_bias=use_bias,
                                                  kernel_initializer=init), True)


def _ccbn(keras, x, c, init):
  """Class-conditional BN: BN(x) * (1 + W_g c) + W_b c (BigGAN-PyTorch ccbn)."""
  channels = x.shape[-1]
  h = keras.layers.BatchNormalization(center=False, scale=False, epsilon=1e-5,
                                      momentum=0.9)(x)
  gain = keras.layers.Rescaling(1.0, offset=1.0)(_dense(keras, channels, init, False)(c))
  bias = _dense(keras, channels, init, False)(c)
  gain = keras.layers.Reshape((1, 1, channels))(gain)
  bias = keras.layers.Reshape((1, 1, channels))(bias)
  return keras.layers.Add()([keras.layers.Multiply()([h, gain]), bias])


def _g_block(keras, x, c, filters, init):
  h = keras.layers.ReLU()(_ccbn(keras, x, c, init))
  h = _conv(keras, filters, 3, init)(keras.layers.UpSampling2D(2)(h))
  h = keras.layers.ReLU()(_ccbn(keras, h, c, init))
  h = _conv(keras, filters, 3, init)(h)
  shortcut = _conv(keras, filters, 1, init)(keras.layers.UpSampling2D(2)(x))
  return keras.layers.Add()([h, shortcut])


def self_attention(keras, x, init):
  """SAGAN's non-local block (BigGAN-PyTorch layers.Attention): 1x1 convs to
  theta (C/8), phi (C/8) and g (C/2), the last two max-pooled; softmax(theta
  phi^T) g, a 1x1 conv back to C, times a learned gain starting at 0, plus x."""
  side, width, channels = x.shape[1], x.shape[2], x.shape[-1]
  n = side * width
  theta = keras.layers.Reshape((n, channels // 8))(_conv(keras, channels // 8, 1, init, False)(x))
  pool = lambda t: keras.layers.MaxPooling2D(2)(t)  # noqa: E731
  phi = keras.layers.Reshape((n // 4, channels // 8))(pool(_conv(keras, channels // 8, 1, init, False)(x)))
  g = keras.layers.Reshape((n // 4, channels // 2))(pool(_conv(keras, channels // 2, 1, init, False)(x)))
  beta = keras.layers.Softmax()(keras.layers.Dot(axes=2)([theta, phi]))
  o = keras.layers.Reshape((side, width, channels // 2))(keras.layers.Dot(axes=(2, 1))([beta, g]))
  o = _conv(keras, channels, 1, init, False)(o)
  return keras.layers.Add()([style_layers.get(keras).ScalarGain()(o), x])


def _split(keras, z, latent_dim, slots):
  if latent_dim % slots:
    raise UserError(f"noise.dim: {latent_dim} is not allowed with generator 'biggan' at "
                    f"this resolution; the hierarchical latent splits it into {slots} "
                    f"equal chunks: use a multiple of {slots}")
  size = latent_dim // slots
  return [keras.layers.Cropping1D((i * size, latent_dim - (i + 1) * size))(
      keras.layers.Reshape((latent_dim, 1))(z)) for i in range(slots)]


def _check(field, attention_res, resolution):
  if attention_res and attention_res not in [2 ** i for i in range(3, 9)]:
    raise UserError(f"{field}.attention: {attention_res!r} is not allowed; expected 0 "
                    f"(none) or a block's resolution, a power of 2 from 8 to {resolution}")


@ARCHITECTURES.register("biggan")
class BigGAN:
  """BigGAN's G and projection D for 32 (CIFAR-10), 64, 128, 256 pixels (28: MNIST)."""

  @staticmethod
  def generator(keras, spec, latent_dim, channels=96, shared_dim=128, attention=64,
                init="ortho", conditional=False):
    """`attention`: the resolution of the self-attention block (0: none)."""
    resolution, colours, side = net_resolution("generator", spec, dict(
        channels=channels, shared_dim=shared_dim))
    _check("generator", attention, resolution)
    init = _init(keras, init)
    ins, outs = G_ARCH[resolution]
    classes = cond.check_classes("generator", spec, conditional)
    z = keras.Input((latent_dim,))
    chunks = [keras.layers.Flatten()(c) for c in _split(keras, z, latent_dim, len(ins) + 1)]
    inputs, embed = z, None
    if classes:
      labels = cond.label_input(keras)
      inputs = [z, labels]
      embed = keras.layers.Dense(shared_dim, use_bias=False, kernel_initializer=init)(
          cond.one_hot(keras, labels, classes))
    x = _dense(keras, 16 * ins[0] * channels, init)(chunks[0])
    x = keras.layers.Reshape((4, 4, ins[0] * channels))(x)
    for i, mult in enumerate(outs):
      c = chunks[i + 1] if embed is None else keras.layers.Concatenate()([embed, chunks[i + 1]])
      x = _g_block(keras, x, c, mult * channels, init)
      if x.shape[1] == attention:
        x = self_attention(keras, x, init)
    x = keras.layers.BatchNormalization(epsilon=1e-5, momentum=0.9)(x)
    x = _conv(keras, colours, 3, init)(keras.layers.ReLU()(x))
    out = keras.layers.Activation("tanh", dtype="float32")(crop_to(keras, x, side))
    return keras.Model(inputs, out, name="biggan_generator")

  @staticmethod
  def discriminator(keras, spec, channels=96, attention=64, init="ortho", conditional=False,
                    head="projection"):
    """`attention`: the resolution of the self-attention block (0: none); `head`:
    the conditional D's head, projection (BigGAN's), acgan or d2dce (ReACGAN's)."""
    cond.check_head(head)
    resolution, _, side = net_resolution("discriminator", spec, dict(channels=channels))
    _check("discriminator", attention, resolution)
    init = _init(keras, init)
    _, outs, downs = D_ARCH[resolution]
    classes = cond.check_classes("discriminator", spec, conditional)
    inputs = keras.Input(spec.shape)
    x, used = pad_from(keras, inputs, side), False
    for i, mult in enumerate(outs):
      x = _d_block(keras, x, mult * channels, init, i > 0, i < downs)
      if x.shape[1] == attention and not used:
        x, used = self_attention(keras, x, init), True
    h = sum_pool(keras, keras.layers.ReLU()(x))
    logit = _dense(keras, 1, init)(h)
    if classes:
      labels = cond.label_input(keras)
      logit = cond.head_outputs(keras, head, h, logit, cond.one_hot(keras, labels, classes),
                                classes, lambda layer: maybe_spectral(keras, layer, True))
      inputs = [inputs, labels]
    out = keras.layers.Activation("linear", dtype="float32")(logit)
    return keras.Model(inputs, out, name="biggan_discriminator")


def _d_block(keras, x, filters, init, preactivation, downsample):
  """BigGAN-PyTorch DBlock (wide): the shortcut convolves before pooling when
  pre-activated, after it otherwise; a 1x1 shortcut only where shapes change."""
  h = keras.layers.ReLU()(x) if preactivation else x
  h = _conv(keras, filters, 3, init)(h)
  h = _conv(keras, filters, 3, init)(keras.layers.ReLU()(h))
  pool = keras.layers.AveragePooling2D(2)
  learnable = downsample or x.shape[-1] != filters
  shortcut = x
  if downsample and not preactivation:
    shortcut = keras.layers.AveragePooling2D(2)(shortcut)
  if learnable:
    shortcut = _conv(keras, filters, 1, init)(shortcut)
  if downsample and preactivation:
    shortcut = keras.layers.AveragePooling2D(2)(shortcut)
  if downsample:
    h = pool(h)
  return keras.layers.Add()([h, shortcut])
