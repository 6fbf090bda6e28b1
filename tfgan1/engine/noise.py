"""G's noise: the draw of a `NoiseConfig`, with fake labels for labelled data."""
import numpy as np

from tfgan1 import tfimport
from tfgan1.registry import contracts

tf = tfimport.tensorflow()


def noise_sampler(noise):
  """The noise function of a `NoiseConfig` (`dim`, `distribution`)."""
  dim = noise.dim
  if noise.distribution == "uniform":
    return lambda rng, n: rng.uniform([n, dim], -1.0, 1.0)
  return lambda rng, n: rng.normal([n, dim])


def noise_fn(config, data=None):
  """rng, n -> a [n, dim] float32 noise batch from a tf.random.Generator.

  For labelled data (`spec.num_classes`), (noise, int32 labels) instead: the
  same RNG draws the fake labels from the data's class distribution (its
  `class_probs`, else uniform), so a resumed run draws the same labels.
  """
  draw = noise_sampler(config.noise)
  classes = data.spec.num_classes if data is not None else None
  if not classes:
    return draw
  probs = contracts.hook(data, "dataset", "class_probs")
  cdf = tf.constant(np.cumsum(probs if probs is not None else np.ones(classes) / classes),
                    tf.float32)

  def with_labels(rng, n):
    z = draw(rng, n)
    labels = tf.searchsorted(cdf, rng.uniform([n]), side="right")
    return z, tf.minimum(tf.cast(labels, tf.int32), classes - 1)
  return with_labels
