"""2-D mixtures of Gaussians: the 8-mode ring and the 25-mode grid.

Definitions follow PacGAN (Lin et al. 2018, arXiv:1712.04086, section 5.1):
ring: 8 modes at (cos 2*pi*k/8, sin 2*pi*k/8), std 0.01;
grid: 25 modes at {-4, -2, 0, 2, 4}^2, std 0.05. Modes are equally likely.
"""
import math

import numpy as np
import tensorflow as tf

from tfgan1 import DATASETS, UserError
from tfgan1.registry.spec import DataSpec
from tfgan1.output.pictures import scatter_image


class _Mixture:
  """Streams batches of a Gaussian mixture; batch i depends only on (seed, i)."""

  centers = None
  default_std = None
  extent = None
  render_samples = 2500  # a scatter plot needs many points to show mode coverage
  default_evaluators = ("modes",)  # plugins/evaluators/modes.py

  def __init__(self, std=None):
    std = self.default_std if std is None else std
    if isinstance(std, bool) or not isinstance(std, (int, float)) or std <= 0:
      raise UserError(f"data.std: {std!r} is not allowed; must be a number > 0")
    self.std = float(std)
    self.spec = DataSpec(shape=(2,))

  # Batches made per tf.data element: a 2-D batch costs microseconds to draw, so
  # tf.data's per-element overhead dominated. With 16 per element, ring8's step
  # on 2 CPU cores is 0.4 ms slower than on a constant batch, down from 1.2 ms
  # (docs/BENCHMARKS.md). Batch i is the same as with one per element.
  batches_per_element = 16

  def dataset(self, batch_size, seed):
    centers = tf.constant(self.centers, tf.float32)
    num_modes = len(self.centers)
    std = self.std
    per = self.batches_per_element

    def make_batch(index):
      # Stateless RNG keyed on the batch index: the stream is reproducible and a
      # checkpointed iterator resumes it exactly.
      base = tf.stack([tf.cast(seed, tf.int64), 2 * index])
      modes = tf.random.stateless_uniform(
          [batch_size], seed=base, maxval=num_modes, dtype=tf.int32)
      noise = tf.random.stateless_normal([batch_size, 2], seed=base + [0, 1])
      return tf.gather(centers, modes) + std * noise

    def make_chunk(chunk):
      return tf.data.Dataset.from_tensor_slices(
          tf.stack([make_batch(chunk * per + i) for i in range(per)]))

    ds = tf.data.Dataset.counter().flat_map(make_chunk)
    return ds.prefetch(2)

  def render(self, samples):
    rng = np.random.default_rng(0)
    reference = (np.asarray(self.centers)[rng.integers(len(self.centers), size=2000)]
                 + self.std * rng.standard_normal((2000, 2)))
    return scatter_image(samples, reference, self.extent)


@DATASETS.register("ring8")
class Ring8(_Mixture):
  centers = [(math.cos(2 * math.pi * k / 8), math.sin(2 * math.pi * k / 8))
             for k in range(8)]
  default_std = 0.01
  extent = (-1.5, 1.5)


@DATASETS.register("grid25")
class Grid25(_Mixture):
  centers = [(float(x), float(y)) for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4)]
  default_std = 0.05
  extent = (-6.0, 6.0)
