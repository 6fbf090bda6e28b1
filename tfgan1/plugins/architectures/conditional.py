"""Class conditioning for the architectures: labels in, per-class BN, projection D.

A conditional network takes `[inputs, labels]`, labels int32 [batch]. Built from
stock Keras layers only, so they work with Keras 3 and with tf_keras alike:

* class-conditional BatchNorm (G; de Vries et al. 2017, as in SNGAN and BigGAN):
  BN without its own scale and offset, then a per-class gamma and beta, i.e.
  `gamma[y] * BN(x) + beta[y]`, gamma starting at 1 and beta at 0;
* the projection head (D; Miyato & Koyama 2018, arXiv:1802.05637):
  `logit = psi(h) + <embed[y], h>`, h being D's pooled features, the embedding
  spectrally normalized along with the rest of D;
* a label embedding concatenated to the input (mlp);
* the ACGAN head (D; Odena et al. 2017, arXiv:1610.09585): an auxiliary
  classifier on D's features whose log-probability of the given label,
  log softmax(C h)[y], is D's second output column beside the adversarial
  logit (the `acgan` loss family reads both);
* the D2D-CE head (D; Kang et al. 2021, ReACGAN, arXiv:2111.01118): a linear
  embedding of D's features and the label's class proxy, as wide as the
  features, beside the adversarial logit (the `d2dce` loss family reads them).

Per-class tables are Dense layers without bias on one-hot labels: `onehot @ W`
is the row `W[y]`, an embedding lookup, and spectral norm wraps a Dense.
"""
from tfgan1 import UserError


def check_classes(field, spec, conditional):
  """The number of classes for a conditional network, else None (or a UserError)."""
  if not isinstance(conditional, bool):
    raise UserError(f"{field}.conditional: {conditional!r} is not allowed; "
                    "expected true or false")
  if conditional and not spec.num_classes:
    raise UserError(f"{field}.conditional: true needs labelled data; set data.labels: "
                    "true (with a dataset that has labels)")
  if not conditional and spec.num_classes:
    raise UserError(f"{field}.conditional: false, but the data yields "
                    f"{spec.num_classes} classes (data.labels: true); set "
                    f"{field}.conditional: true")
  return spec.num_classes if conditional else None


def label_input(keras):
  return keras.Input((), dtype="int32", name="labels")


def one_hot(keras, labels, num_classes):
  return keras.layers.CategoryEncoding(num_classes, output_mode="one_hot")(labels)


def class_table(keras, onehot, width, init, wrap=None):
  """[batch, width]: the row of a [classes, width] table picked by each label."""
  dense = keras.layers.Dense(width, use_bias=False, kernel_initializer=init)
  return (wrap(dense) if wrap else dense)(onehot)


def conditional_batch_norm(keras, x, onehot):
  """gamma[y] * BN(x) + beta[y], per channel (the last axis)."""
  channels = x.shape[-1]
  h = keras.layers.BatchNormalization(center=False, scale=False)(x)
  gamma = class_table(keras, onehot, channels, "ones")
  beta = class_table(keras, onehot, channels, "zeros")
  ones = (1,) * (len(x.shape) - 2)
  if ones:  # broadcast over the spatial axes
    gamma = keras.layers.Reshape((*ones, channels))(gamma)
    beta = keras.layers.Reshape((*ones, channels))(beta)
  return keras.layers.Add()([keras.layers.Multiply()([h, gamma]), beta])


def projection_logits(keras, h, logits, onehot, wrap=None):
  """logits + <embed[y], h>: the projection head on features h [batch, F].

  `wrap` (spectral norm, as in the paper) wraps the embedding's Dense.
  """
  embed = class_table(keras, onehot, h.shape[-1], "glorot_uniform", wrap)
  return keras.layers.Add()([logits, keras.layers.Dot(axes=1)([embed, h])])


HEADS = ("projection", "acgan", "d2dce")  # a conditional D's head (dcgan's `head`)


def acgan_outputs(keras, h, logits, onehot, classes, wrap=None):
  """[batch, 2]: the adversarial logit and log p(y | x) of the auxiliary classifier.

  The label's log-probability is taken inside D, so D's output stays one row
  of numbers per sample and the loss family a function of D's outputs alone.
  """
  dense = keras.layers.Dense(classes)
  log_probs = keras.layers.Activation("log_softmax")((wrap(dense) if wrap else dense)(h))
  picked = keras.layers.Dot(axes=1)([log_probs, onehot])
  return keras.layers.Concatenate()([logits, picked])


def d2dce_outputs(keras, h, logits, onehot, wrap=None):
  """[batch, 1 + 2F]: the adversarial logit, D's embedding of h [batch, F] and the
  label's proxy, StudioGAN's `linear2(h)` and `embedding(y)` of its D2DCE head.

  The adversarial logit carries no projection, as in ReACGAN: the class enters
  through the loss. Both vectors are per sample, so D still scores each sample
  on its own; the loss compares them across the batch.
  """
  dense = keras.layers.Dense(h.shape[-1])
  embed = (wrap(dense) if wrap else dense)(h)
  proxy = class_table(keras, onehot, h.shape[-1], "glorot_uniform", wrap)
  return keras.layers.Concatenate()([logits, embed, proxy])


def check_head(head):
  if head not in HEADS:
    raise UserError(f"discriminator.head: {head!r} is not allowed; choose one of: "
                    f"{', '.join(HEADS)}")
  return head


def head_outputs(keras, head, h, logits, onehot, classes, wrap=None):
  """D's outputs of a conditional head (`HEADS`) on pooled features h."""
  if head == "acgan":
    return acgan_outputs(keras, h, logits, onehot, classes, wrap)
  if head == "d2dce":
    return d2dce_outputs(keras, h, logits, onehot, wrap)
  return projection_logits(keras, h, logits, onehot, wrap)
