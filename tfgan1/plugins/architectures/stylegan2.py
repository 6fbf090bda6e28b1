"""StyleGAN2 (Karras et al. 2020, "Analyzing and Improving the Image Quality of
StyleGAN", arXiv:1912.04958), config F: the skip generator and the residual
discriminator, as NVlabs/stylegan2-ada-pytorch training/networks.py lays them out.

G: z (normalised) -> mapping MLP (`mapping_layers` equalized-lr Dense, lr x0.01,
lrelu) -> w; the synthesis network starts from a learned 4x4 constant, and per
resolution runs two modulated/demodulated 3x3 convs (the first up-samples)
with per-pixel noise, plus a ToRGB (1x1, modulated, not demodulated) whose
images are summed over resolutions through FIR up-sampling (the skip
generator). Widths: min(channel_base / resolution, channel_max).
`conditional`: the one-hot label is embedded, normalised and joined to z
before the mapping (StyleGAN2-ADA). `style_mixing`: the probability that a
training sample takes its later layers' styles from a second latent.

D: FromRGB, then per resolution conv3x3 + conv3x3 down, with (architecture
'resnet') a 1x1 down-sampled skip, summed times sqrt(1/2); at 4x4 minibatch
standard deviation (group `mbstd_group`), conv3x3, Dense, Dense to the logit
('orig': no skips, as StyleGAN2-ADA's CIFAR-10 setting). `conditional`: a
projection head (Miyato & Koyama 2018) instead of ADA's mapped label, or
`head: acgan` / `head: d2dce` for those loss families.

Minibatch std makes each logit read other samples: D declares it
(`batch_coupled`) and the `shared` one-step form is refused for it.

Differences from the official code, none changing a parameter count: the
up-sampling conv is FIR up-sampling then a 3x3 conv (the official fuses a
transposed conv with the same filter); the noise inputs are drawn from a seed
hashed from the batch's z (G stays a function of its input, which `--verify`
needs); no running w average (truncation here is BigGAN's, in z); `output: tanh`
optionally bounds G's output (the paper's is linear; MNIST needs the bound:
docs/guide/stylegan2.md).
28x28 data (MNIST) runs at 32x32: G's output is cropped, D's input padded with
background (-1) by 2 pixels a side.
"""
import math

from tfgan1 import ARCHITECTURES, UserError
from tfgan1.plugins.architectures import conditional as cond
from tfgan1.plugins.architectures import style_layers
from tfgan1.plugins.architectures.dcgan import image_shape, positive_int

RESOLUTIONS = (28, 32, 64, 128, 256)
ARCHITECTURES_D = ("resnet", "orig")
OUTPUTS = ("linear", "tanh")
MAPPING, SYNTHESIS = "stylegan2_mapping", "stylegan2_synthesis"  # G's two parts


def widths(resolution, channel_base, channel_max):
  """{res: channels} for 4 .. resolution, the official nf(res)."""
  return {2 ** i: min(channel_base // 2 ** i, channel_max)
          for i in range(2, int(math.log2(resolution)) + 1)}


def net_resolution(field, spec, kwargs):
  side, channels = image_shape(field, "stylegan2", spec, RESOLUTIONS)
  for name, value in kwargs.items():
    positive_int(f"{field}.{name}", value)
  return (32 if side == 28 else side), channels, side


def crop_to(keras, x, side):
  """G's 32x32 output cropped to 28x28 (MNIST), else x."""
  return keras.layers.Cropping2D(2)(x) if side == 28 else x


def pad_from(keras, x, side):
  """D's 28x28 input padded to 32x32 with the data's background value -1."""
  if side != 28:
    return x
  x = keras.layers.Rescaling(1.0, offset=1.0)(x)
  x = keras.layers.ZeroPadding2D(2)(x)
  return keras.layers.Rescaling(1.0, offset=-1.0)(x)


def _mapping(keras, L, onehot, w_dim, layers):
  """z -> w, the official MappingNetwork (the label, when given, embedded,
  normalised and joined to the normalised z); returns the function, so the
  style-mixing partner reuses every layer."""
  y = None if onehot is None else L.Normalize()(L.EqualDense(units=w_dim)(onehot))
  dense = [L.EqualDense(units=w_dim, lr_mul=0.01, act="lrelu") for _ in range(layers)]

  def mapping(z):
    x = L.Normalize()(z)
    x = x if y is None else keras.layers.Concatenate()([x, y])
    for layer in dense:
      x = layer(x)
    return x
  return mapping


def _synthesis(keras, L, ws, z, nf, resolution, channels):
  style = lambda i, c: L.EqualDense(units=c, bias_init=1.0)(L.PickStyle(index=i)(ws))  # noqa: E731
  x = L.ConstInput(channels=nf[4])(z)
  x = L.ModConv(filters=nf[4], salt=0)([x, style(0, nf[4]), z])
  img = L.ModConv(filters=channels, kernel=1, demodulate=False, noise=False,
                  act="linear")([x, style(1, nf[4]), z])
  i, res = 1, 8
  while res <= resolution:
    x = L.ModConv(filters=nf[res], up=True, salt=i)([x, style(i, nf[res // 2]), z])
    x = L.ModConv(filters=nf[res], salt=i + 1)([x, style(i + 1, nf[res]), z])
    rgb = L.ModConv(filters=channels, kernel=1, demodulate=False, noise=False,
                    act="linear")([x, style(i + 2, nf[res]), z])
    img = keras.layers.Add()([L.Upsample()(img), rgb])
    i, res = i + 2, res * 2
  return img


@ARCHITECTURES.register("stylegan2")
class StyleGAN2:
  """StyleGAN2 config F, 32 to 256 pixels (28: MNIST, run at 32)."""

  @staticmethod
  def generator(keras, spec, latent_dim, channel_base=32768, channel_max=512, w_dim=512,
                mapping_layers=8, style_mixing=0.0, conditional=False, output="linear"):
    """`style_mixing`: mixing-regularisation probability (the paper: 0.9);
    `output`: 'linear' (the paper) or 'tanh', which can reach a background of
    exactly -1 (MNIST's) without a linear output having to hit it."""
    resolution, channels, side = net_resolution("generator", spec, dict(
        channel_base=channel_base, channel_max=channel_max, w_dim=w_dim,
        mapping_layers=mapping_layers))
    if isinstance(style_mixing, bool) or not isinstance(style_mixing, (int, float)) \
        or not 0.0 <= style_mixing <= 1.0:
      raise UserError(f"generator.style_mixing: {style_mixing!r} is not allowed; "
                      "expected a probability in [0, 1]")
    if output not in OUTPUTS:
      raise UserError(f"generator.output: {output!r} is not allowed; "
                      f"choose one of: {', '.join(OUTPUTS)}")
    L = style_layers.get(keras)
    classes = cond.check_classes("generator", spec, conditional)
    z = keras.Input((latent_dim,))
    inputs, onehot = z, None
    if classes:
      labels = cond.label_input(keras)
      inputs, onehot = [z, labels], cond.one_hot(keras, labels, classes)
    mapping = _mapping(keras, L, onehot, w_dim, mapping_layers)
    w = mapping(z)
    w2 = mapping(L.MixingLatent()(z)) if style_mixing > 0 else w
    num_ws = 2 * int(math.log2(resolution)) - 2
    ws = L.StyleMix(num_ws=num_ws, prob=float(style_mixing))([w, w2, z])
    # Two nested models, so that path-length regularisation can differentiate
    # the images with respect to the styles ws.
    mapper = keras.Model(inputs, ws, name=MAPPING)
    ws_in, z_in = keras.Input((num_ws, w_dim)), keras.Input((latent_dim,))
    img = _synthesis(keras, L, ws_in, z_in, widths(resolution, channel_base, channel_max),
                     resolution, channels)
    out = keras.layers.Activation(output, dtype="float32")(crop_to(keras, img, side))
    synthesis = keras.Model([ws_in, z_in], out, name=SYNTHESIS)
    out = synthesis([mapper(inputs), z])
    return keras.Model(inputs, out, name="stylegan2_generator")

  @staticmethod
  def discriminator(keras, spec, channel_base=32768, channel_max=512, mbstd_group=4,
                    architecture="resnet", conditional=False, head="projection"):
    """`mbstd_group`: samples per minibatch-std group (1: the std layer is off);
    `head`: the conditional D's head, projection, acgan or d2dce (ReACGAN's)."""
    cond.check_head(head)
    resolution, _, side = net_resolution("discriminator", spec, dict(
        channel_base=channel_base, channel_max=channel_max, mbstd_group=mbstd_group))
    if architecture not in ARCHITECTURES_D:
      raise UserError(f"discriminator.architecture: {architecture!r} is not allowed; "
                      f"choose one of: {', '.join(ARCHITECTURES_D)}")
    L = style_layers.get(keras)
    classes = cond.check_classes("discriminator", spec, conditional)
    nf = widths(resolution, channel_base, channel_max)
    inputs = keras.Input(spec.shape)
    x = L.EqualConv(filters=nf[resolution], kernel=1)(pad_from(keras, inputs, side))
    res = resolution
    while res > 4:
      h = L.EqualConv(filters=nf[res])(x)
      if architecture == "resnet":
        h = L.EqualConv(filters=nf[res // 2], down=True, gain=math.sqrt(0.5))(h)
        skip = L.EqualConv(filters=nf[res // 2], kernel=1, act="linear", use_bias=False,
                           down=True, gain=math.sqrt(0.5))(x)
        x = keras.layers.Add()([skip, h])
      else:
        x = L.EqualConv(filters=nf[res // 2], down=True)(h)
      res //= 2
    if mbstd_group > 1:
      x = L.MinibatchStd(group=mbstd_group)(x)
    x = L.EqualConv(filters=nf[4])(x)
    h = L.EqualDense(units=nf[4], act="lrelu")(keras.layers.Flatten()(x))
    logit = L.EqualDense(units=1)(h)
    if classes:
      labels = cond.label_input(keras)
      logit = cond.head_outputs(keras, head, h, logit, cond.one_hot(keras, labels, classes),
                                classes)
      inputs = [inputs, labels]
    out = keras.layers.Activation("linear", dtype="float32")(logit)
    return keras.Model(inputs, out, name="stylegan2_discriminator")

  @staticmethod
  def batch_coupled(discriminator_kwargs):
    """Why D's logits read other samples, or None: minibatch std does."""
    if discriminator_kwargs.get("mbstd_group", 4) > 1:
      return ("its minibatch standard deviation layer (mbstd_group > 1) makes each "
              "logit read the other samples of its group")
    return None
