"""`random_images`: a dataset plugin of uniform-noise images, for timing only.

    plugins: [tools/random_images.py]
    data: {name: random_images, size: 32, channels: 3}

The benchmarks use it where a config's own data is absent here (CIFAR-10 through
TFDS, a folder of images): a train step costs the same on noise as on photos of
the same shape. It trains nothing worth looking at.
"""
import numpy as np

from tfgan1 import DATASETS
from tfgan1.plugins.architectures.dcgan import positive_int
from tfgan1.plugins.datasets.image_folder import array_dataset
from tfgan1.registry.spec import DataSpec


@DATASETS.register("random_images")
class RandomImages:
  """`num` uint8 noise images of `size` x `size` x `channels`, seeded by `seed`."""

  def __init__(self, size=32, channels=3, num=1024, seed=0):
    positive_int("data.size", size)
    positive_int("data.channels", channels)
    positive_int("data.num", num)
    rng = np.random.default_rng(seed)
    self.images = rng.integers(0, 256, (num, size, size, channels), dtype=np.uint8)
    self.spec = DataSpec(shape=(size, size, channels))

  def dataset(self, batch_size, seed):
    return array_dataset(self.images, batch_size, seed)
