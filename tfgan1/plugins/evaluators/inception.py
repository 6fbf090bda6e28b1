"""`inception`: FID, KID, Inception Score, precision/recall, density/coverage on
`keras.applications.InceptionV3` features of RGB (or grey) images.

Preprocessing is the usual FID one: [-1, 1] samples to uint8 pixels, grey tiled
to 3 channels, a bilinear resize to 299x299, then InceptionV3's own scaling to
[-1, 1]. The 2048-d `avg_pool` output is the feature; the ImageNet class
probabilities give the Inception Score.

`weights` is "imagenet" (Keras downloads them once into ~/.keras/models) or the
path of a local InceptionV3 weights file (with the top, e.g. Keras'
inception_v3_weights_tf_dim_ordering_tf_kernels.h5). When neither can be had,
as offline without the file, the evaluator says so in one line and returns no
metrics: the run goes on.
"""
import contextlib
import io
import os

from absl import logging
import numpy as np

from tfgan1 import EVALUATORS, UserError
from tfgan1.evaluation import stats
from tfgan1.errors import describe

SIZE = 299


def to_pixels(images):
  """[-1, 1] floats -> uint8 values (as float32), what a saved PNG would hold."""
  return np.clip(np.round((np.asarray(images, np.float32) + 1.0) * 127.5), 0, 255)


def preprocess(tf, pixels):
  """uint8-valued [B, H, W, C] -> [B, 299, 299, 3] in [-1, 1] (Inception's scaling)."""
  x = tf.convert_to_tensor(pixels, tf.float32)
  if x.shape[-1] == 1:
    x = tf.tile(x, [1, 1, 1, 3])
  x = tf.image.resize(x[..., :3], [SIZE, SIZE], method="bilinear")
  return x / 127.5 - 1.0


def inception_network(weights):
  """InceptionV3 as x -> (pool features [B, 2048], log class probabilities)."""
  import keras  # pylint: disable=g-import-not-at-top
  base = keras.applications.InceptionV3(include_top=True, weights=weights)
  model = keras.Model(base.inputs, [base.get_layer("avg_pool").output, base.output])

  def network(x):
    pool, probs = model(x, training=False)
    return pool, np.log(np.maximum(np.asarray(probs, np.float64), 1e-30))
  return network


@EVALUATORS.register("inception")
class InceptionScores:
  """Feature statistics of G's images against as many real ones (see module doc).

  `network` (Python API only) replaces InceptionV3 by any callable with its
  interface: [B, 299, 299, 3] in [-1, 1] -> (features [B, D], logits [B, C]).
  """

  def __init__(self, data, weights="imagenet", batch_size=50, kid_subsets=100,
               kid_subset_size=1000, k=3, network=None):
    shape = tuple(getattr(getattr(data, "spec", None), "shape", ()))
    if len(shape) != 3 or shape[-1] not in (1, 3):
      raise UserError(f"eval.metrics: 'inception' needs grey or RGB images; "
                      f"{type(data).__name__} has samples of shape {shape}")
    if not isinstance(weights, str):
      raise UserError(f"eval.metrics: 'inception' weights: {weights!r} is not allowed; "
                      "expected 'imagenet' or a path to a weights file")
    if network is not None and not callable(network):
      raise UserError("eval.metrics: 'inception' network: expected a callable "
                      "(Python API only)")
    self.data, self.weights, self.batch_size = data, weights, int(batch_size)
    self.kid = dict(num_subsets=int(kid_subsets), subset_size=int(kid_subset_size))
    self.k = int(k)
    self._network, self._failed, self._real = network, False, {}

  def _ready(self):
    if self._network is not None:
      return True
    if self._failed:
      return False
    why = None
    if self.weights != "imagenet" and not os.path.isfile(self.weights):
      why = f"weights file {self.weights!r} does not exist"
    else:
      try:  # Keras prints "Downloading data from ..." even when that fails
        with contextlib.redirect_stdout(io.StringIO()):
          self._network = inception_network(self.weights)
      except Exception as e:  # pylint: disable=broad-except  (no network, bad file)
        why = f"InceptionV3 weights {self.weights!r} could not be loaded ({describe(e)})"
    if why:
      logging.warning("eval: %s; FID/KID/IS/precision/recall are skipped. Set the "
                      "inception evaluator's weights to a local InceptionV3 .h5 file "
                      "(or run once with internet)", why.splitlines()[0][:300])
      self._failed = True
    return not self._failed

  def features(self, pixels):
    """(features, logits) as float64 NumPy, in batches."""
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    feats, logits = [], []
    for i in range(0, len(pixels), self.batch_size):
      f, l = self._network(preprocess(tf, pixels[i:i + self.batch_size]))
      feats.append(np.asarray(f, np.float64).reshape(len(f), -1))
      logits.append(np.asarray(l, np.float64))
    return np.concatenate(feats), np.concatenate(logits)

  def _real_pixels(self, num):
    images = getattr(self.data, "images", None)
    if images is not None:  # in memory: a fixed random subset
      pick = np.random.default_rng(0).permutation(len(images))[:num]
      return np.asarray(images[np.sort(pick)], np.float32)
    batches, have = [], 0
    for batch in self.data.dataset(min(num, 500), 0):
      batches.append(to_pixels(batch.numpy()))
      have += len(batches[-1])
      if have >= num:
        break
    return np.concatenate(batches)[:num]

  def evaluate(self, samples):
    if not self._ready():
      return {}
    n = len(samples)
    if n not in self._real:  # the real set's features, once per sample count
      self._real[n] = self.features(self._real_pixels(n))[0]
    real = self._real[n]
    fake, logits = self.features(to_pixels(samples))
    kid, kid_std = stats.kernel_inception_distance(real, fake, **self.kid)
    precision, recall = stats.precision_recall(real, fake, self.k)
    density, coverage = stats.density_coverage(real, fake)
    score, score_std = stats.inception_score(logits, min(10, n))
    return {"fid": stats.frechet_distance(real, fake), "kid": kid, "kid_std": kid_std,
            "precision": precision, "recall": recall, "density": density,
            "coverage": coverage, "is": score, "is_std": score_std}
