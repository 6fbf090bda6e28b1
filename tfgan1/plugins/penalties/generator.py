"""Generator penalties (side "g"): terms of L_G that read G only.

A penalty declaring `side = "g"` is called as `penalty(generator, z, seed)`
(contract `generator_penalty` in `tfgan1.registry.contracts`): `generator` is
G's Keras model, `z` the step's noise (or (noise, labels)), `seed` a stateless
seed. Its weighted value joins L_G, so in the one-step loss it sits in lambda's
term and only G's weights reach it; it must not read D's weights.
"""
import tensorflow as tf

from tfgan1.registry import PENALTIES


def generate(generator, z):
  """G's samples for `z`, a noise tensor or (noise, labels), as the engine draws them."""
  if isinstance(z, (tuple, list)):
    return generator([z[0], z[1]], training=True)
  return generator(z, training=True)


def off_diagonal_gram(matrix):
  """||W^T W * (1 - I)||_F^2 of a `[fan_in, units]` float32 matrix W."""
  gram = tf.matmul(matrix, matrix, transpose_a=True)
  off = gram * (1.0 - tf.eye(tf.shape(gram)[0], dtype=gram.dtype))
  return tf.reduce_sum(tf.square(off))


def kernel_matrix(variable):
  """A kernel as `[fan_in, units]`: the last axis is Keras' output axis (Dense,
  Conv; Conv2DTranspose's is its input axis), as BigGAN-PyTorch's `view(shape[0], -1)`
  takes PyTorch's first axis."""
  value = tf.cast(tf.convert_to_tensor(variable), tf.float32)
  return tf.reshape(value, [-1, value.shape[-1]])


@PENALTIES.register("orthogonal")
class Orthogonal:
  """BigGAN's orthogonal regularisation of G (Brock et al. 2019, "Large Scale
  GAN Training for High Fidelity Natural Image Synthesis", arXiv:1809.11096,
  Eq. 3): sum over G's weight matrices of ||W^T W * (1 - I)||_F^2, with
  `weight: beta` (the paper's 1e-4). Only the filters' pairwise cosines are
  pushed to 0, not their norms (the "-I" of plain orthogonal regularisation).

  The BigGAN-PyTorch reference (ajbrock/BigGAN-PyTorch `utils.ortho`, as copied
  in POSTECH-CVLab/PyTorch-StudioGAN utils/biggan_utils.py) adds the gradient
  `strength * 2 (W W^T * (1 - I)) W` by hand, half the gradient of Eq. 3: its
  `strength` equals this penalty's `weight` times 2.

  Every trainable variable of rank >= 2 counts, except those whose path holds
  one of `skip` (the shared class embedding BigGAN leaves out).
  """
  side = "g"

  def __init__(self, skip=("embeddings",)):
    if isinstance(skip, str) or not all(isinstance(s, str) for s in skip):
      raise ValueError(f"penalties.orthogonal.skip: {skip!r} must be a list of strings")
    self.skip = tuple(skip)

  def __call__(self, generator, z, seed):
    del z, seed  # a function of G's weights alone
    total = tf.constant(0.0, tf.float32)
    for v in generator.trainable_variables:
      path = getattr(v, "path", v.name)
      if len(v.shape) >= 2 and not any(s in path for s in self.skip):
        total += off_diagonal_gram(kernel_matrix(v))
    return total
