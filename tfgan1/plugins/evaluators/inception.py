"""`inception`: FID, KID, Inception Score, precision/recall, density/coverage on
Inception features of RGB (or grey) images.

`network` picks the features:
- `inception_2015` (default): the 2015-12-05 Inception graph of the original FID
  code (see fid_graph.py), so `fid` is comparable with published FIDs. Images go
  in as TTUR feeds them: [-1, 1] samples to uint8 values (as float32), grey
  tiled to 3 channels, no resize (the graph resizes to 299x299 itself).
  Metric names: fid, kid, kid_std, precision, recall, density, coverage, is, is_std.
- `keras_imagenet`: `keras.applications.InceptionV3` ImageNet weights (a bilinear
  resize to 299x299, Keras' [-1, 1] scaling, `avg_pool` features). Its features
  differ from the graph's, so every metric name ends in `_keras` (fid_keras, ...):
  it is never to be put next to a published FID. `weights` is "imagenet" (Keras
  downloads them once) or a local InceptionV3 .h5 with the top.
- Python API only: a callable with the Keras interface ([B, 299, 299, 3] in
  [-1, 1] -> (features, logits)); names end in `_custom`.

`reference_stats: PATH` (tools/fid_stats.py, or a published TTUR / clean-fid
file) replaces the real images' features for FID; KID, precision/recall and
density/coverage need real features, so they are then skipped (said once).
When the network cannot be had, as offline without the graph file, the
evaluator says so in one line (where to put it, the URL) and returns no
metrics: the run goes on.
"""
import contextlib
import io
import os

from absl import logging
import numpy as np

from tfgan1 import EVALUATORS, UserError
from tfgan1.errors import describe
from tfgan1.evaluation import refstats
from tfgan1.evaluation import stats
from tfgan1.plugins.evaluators import fid_graph

SIZE = 299
NETWORKS = {fid_graph.NAME: "", "keras_imagenet": "_keras"}  # name -> metric suffix


def to_pixels(images):
  """[-1, 1] floats -> uint8 values (as float32), what a saved PNG would hold."""
  return np.clip(np.round((np.asarray(images, np.float32) + 1.0) * 127.5), 0, 255)


def rgb(pixels):
  """[B, H, W, 1 or 3] -> [B, H, W, 3]: grey tiled to three channels."""
  pixels = np.asarray(pixels, np.float32)
  return np.repeat(pixels, 3, axis=-1) if pixels.shape[-1] == 1 else pixels[..., :3]


def preprocess(tf, pixels):
  """uint8-valued [B, H, W, C] -> [B, 299, 299, 3] in [-1, 1] (Keras' scaling)."""
  x = tf.image.resize(tf.convert_to_tensor(rgb(pixels)), [SIZE, SIZE], method="bilinear")
  return x / 127.5 - 1.0


def inception_network(weights):
  """Keras' InceptionV3 as x -> (pool features [B, 2048], log class probabilities)."""
  import keras  # pylint: disable=g-import-not-at-top
  base = keras.applications.InceptionV3(include_top=True, weights=weights)
  model = keras.Model(base.inputs, [base.get_layer("avg_pool").output, base.output])

  def network(x):
    pool, probs = model(x, training=False)
    return pool, np.log(np.maximum(np.asarray(probs, np.float64), 1e-30))
  return network


def _check_network(network):
  if callable(network) or network in NETWORKS:
    return network
  raise UserError(f"eval.metrics: 'inception' network: {network!r} is not allowed; "
                  f"choose one of: {', '.join(NETWORKS)} (or a callable, Python API only)")


def _load(network, weights, graph, graph_sha256):
  """(the network callable, None) or (None, why it cannot be had, in one line)."""
  if network == fid_graph.NAME:
    path = fid_graph.locate(graph)
    if path is None:
      return None, f"no Inception graph found; {fid_graph.where_to_put_it(graph)}"
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    try:
      return fid_graph.graph_network(tf, fid_graph.read_bytes(path, graph_sha256)), None
    except Exception as e:  # pylint: disable=broad-except  (a bad or foreign file)
      return None, f"the Inception graph {path!r} could not be loaded ({describe(e)})"
  if weights != "imagenet" and not os.path.isfile(weights):
    return None, f"weights file {weights!r} does not exist"
  try:  # Keras prints "Downloading data from ..." even when that fails
    with contextlib.redirect_stdout(io.StringIO()):
      return inception_network(weights), None
  except Exception as e:  # pylint: disable=broad-except  (no network, bad file)
    return None, (f"InceptionV3 weights {weights!r} could not be loaded ({describe(e)}); set "
                  "weights to a local InceptionV3 .h5 file (or run once with internet)")


@EVALUATORS.register("inception")
class InceptionScores:
  """Feature statistics of G's images against as many real ones (see module doc)."""

  def __init__(self, data, network=fid_graph.NAME, graph=None, graph_sha256=None,
               weights="imagenet", reference_stats=None, batch_size=50, kid_subsets=100,
               kid_subset_size=1000, k=3):
    shape = tuple(getattr(getattr(data, "spec", None), "shape", ()))
    if len(shape) != 3 or shape[-1] not in (1, 3):
      raise UserError(f"eval.metrics: 'inception' needs grey or RGB images; "
                      f"{type(data).__name__} has samples of shape {shape}")
    for field, value in (("weights", weights), ("graph", graph), ("graph_sha256", graph_sha256)):
      if value is not None and not isinstance(value, str):
        raise UserError(f"eval.metrics: 'inception' {field}: {value!r} is not allowed; "
                        "expected a string (a path, or 'imagenet' for weights)")
    self.network = _check_network(network)
    self.suffix = NETWORKS.get(network, "_custom") if isinstance(network, str) else "_custom"
    self.network_name = network if isinstance(network, str) else "custom"
    self._file = None
    if reference_stats is not None:
      field = "eval.metrics: 'inception' reference_stats"
      self._file = refstats.check(refstats.load(reference_stats, field), reference_stats,
                                  self.network_name)
      self._file["path"] = reference_stats
    self.data, self.batch_size = data, int(batch_size)
    self.kid = dict(num_subsets=int(kid_subsets), subset_size=int(kid_subset_size))
    self.k, self._load_args = int(k), (weights, graph, graph_sha256)
    self._network = network if callable(network) else None
    self._failed, self._real, self._said = False, {}, set()

  def _say_once(self, key, message, *args):
    if key not in self._said:
      self._said.add(key)
      logging.warning(message, *args)

  def _ready(self):
    if self._network is None and not self._failed:
      self._network, why = _load(self.network, *self._load_args)
      if why:
        logging.warning("eval: %s; the inception metrics are skipped", why.splitlines()[0][:600])
        self._failed = True
    return self._network is not None

  def features(self, pixels):
    """(features, logits) as float64 NumPy, in batches, of uint8-valued pixels."""
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    feats, logits = [], []
    for i in range(0, len(pixels), self.batch_size):
      batch = pixels[i:i + self.batch_size]
      f, l = self._network(rgb(batch) if self.network == fid_graph.NAME
                           else preprocess(tf, batch))
      feats.append(np.asarray(f, np.float64).reshape(len(f), -1))
      logits.append(np.asarray(l, np.float64))
    return np.concatenate(feats), np.concatenate(logits)

  def _real_pixels(self, num):
    images = getattr(self.data, "images", None)
    if images is not None:  # in memory: a fixed random subset
      pick = np.random.default_rng(0).permutation(len(images))[:num]
      return np.asarray(images[np.sort(pick)], np.float32)
    if num is None:
      raise UserError("--num_images: needed for a streamed dataset (it has no length)")
    batches, have = [], 0
    for batch in self.data.dataset(min(num, 500), 0):
      batches.append(to_pixels(batch.numpy()))
      have += len(batches[-1])
      if have >= num:
        break
    return np.concatenate(batches)[:num]

  def reference_statistics(self, num_images=None):
    """((mu, sigma), None, count) of `num_images` real images' features (every
    image of an in-memory dataset by default): what tools/fid_stats.py saves."""
    if not self._ready():
      raise UserError(f"eval.metrics: 'inception' network {self.network_name!r} is not "
                      "available (see the line above)")
    real = self.features(self._real_pixels(num_images))[0]
    return stats.mean_cov(real), None, len(real)

  def _kid(self, real, fake):
    size = stats.kid_subset_size(len(real), len(fake), self.kid["subset_size"])
    if size < self.kid["subset_size"]:
      self._say_once("kid", "eval: KID subsets of %d rows, min(%d real, %d generated) < "
                     "kid_subset_size %d (clean-fid's rule)%s", size, len(real), len(fake),
                     self.kid["subset_size"], "; its std is 0" if len(real) == len(fake) else "")
    return stats.kernel_inception_distance(real, fake, **self.kid)

  def evaluate(self, samples):
    if not self._ready():
      return {}
    fake, logits = self.features(to_pixels(samples))
    score, score_std = stats.inception_score(logits, min(10, len(fake)))
    record = {"is": score, "is_std": score_std}
    if self._file is not None:
      refstats.check(self._file, self._file["path"], self.network_name, fake.shape[1],
                     "eval.metrics: 'inception' reference_stats")
      record["fid"] = stats.frechet_distance_from_moments(
          self._file["mu"], self._file["sigma"], *stats.mean_cov(fake))
      self._say_once("file", "eval: inception with reference_stats reports fid and is only: "
                     "KID, precision/recall and density/coverage need real features")
    else:
      record.update(self._against_real(fake))
    return {f"{key}{self.suffix}": value for key, value in record.items()}

  def _against_real(self, fake):
    n = len(fake)
    if n not in self._real:  # the real set's features, once per sample count
      self._real[n] = self.features(self._real_pixels(n))[0]
    real = self._real[n]
    kid, kid_std = self._kid(real, fake)
    precision, recall = stats.precision_recall(real, fake, self.k)
    density, coverage = stats.density_coverage(real, fake)
    return {"fid": stats.frechet_distance(real, fake), "kid": kid, "kid_std": kid_std,
            "precision": precision, "recall": recall, "density": density,
            "coverage": coverage}
