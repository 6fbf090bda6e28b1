"""`mnist`: classifier Inception Score and MNIST-FD, beside the real-data floor.

The features come from a small CNN trained by `tools/train_mnist_classifier.py`
(penultimate layer `features`, output layer `logits`). The dataset's digits are
split by a fixed seed into reference ("training") digits and held-out digits,
the same split the tool uses when it trains on one set. Each record holds:
- `mnist_fd`: Frechet distance between generated and reference features;
- `mnist_is`: the classifier's Inception Score of the generated digits;
- `mnist_fd_real`, `mnist_is_real`: the same for as many held-out real digits,
  the floor a generator of fresh, real-looking digits would reach;
- conditional runs only (the evaluation then passes each sample's intended
  label, see tfgan1/evaluation/loop.py): `class_accuracy`, the fraction of samples the
  classifier reads as the digit G was asked for, and `class_accuracy/<k>`, the
  same among the samples asked to be digit k (the dataset's 10 classes);
  `mnist_intra_fd`, the intra-class FD (the mean over digits k of the FD between
  the samples asked to be k and the reference digits labelled k), beside
  `mnist_intra_fd_real`, the same for held-out real digits of the same class
  counts (needs the data's labels).
`reference_stats: PATH` reads the reference (mu, sigma) from a statistics file
(tools/fid_stats.py) instead of computing the reference digits' features.
Without a trained classifier the evaluator says so once, with the command that
trains one, and returns nothing: the run goes on.
"""
import os

from absl import logging
import numpy as np

from tfgan1 import EVALUATORS, UserError
from tfgan1.evaluation import refstats
from tfgan1.evaluation import stats

NETWORK = "mnist_classifier"  # the feature network's name in statistics files
SPLIT_SEED = 0
HELD_OUT = 0.2


def default_classifier_path():
  """~/.cache/tfgan1/mnist_classifier.keras (or under $XDG_CACHE_HOME)."""
  cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
  return os.path.join(cache, "tfgan1", "mnist_classifier.keras")


def split(num, seed=SPLIT_SEED, held_out=HELD_OUT):
  """(reference indices, held-out indices) of `num` digits, fixed by `seed`."""
  order = np.random.default_rng(seed).permutation(num)
  cut = int(round(num * held_out))
  return np.sort(order[cut:]), np.sort(order[:cut])


def to_float(images):
  """uint8 [N, 28, 28, 1] -> float32 in [-1, 1], as the mnist dataset feeds G's D."""
  return np.asarray(images, np.float32) / 127.5 - 1.0


def build_classifier(keras, width=32):
  """A small CNN: two conv blocks, a `features` layer (4*width units), `logits`."""
  inputs = keras.Input((28, 28, 1))
  x = keras.layers.Conv2D(width, 3, activation="relu")(inputs)
  x = keras.layers.MaxPooling2D()(x)
  x = keras.layers.Conv2D(2 * width, 3, activation="relu")(x)
  x = keras.layers.MaxPooling2D()(x)
  x = keras.layers.Flatten()(x)
  x = keras.layers.Dropout(0.3)(x)
  x = keras.layers.Dense(4 * width, activation="relu", name="features")(x)
  return keras.Model(inputs, keras.layers.Dense(10, name="logits")(x))


def train_classifier(train, test, out, epochs=6, width=32, seed=0, batch_size=128):
  """Trains on `train` = (uint8 images, labels), saves to `out`; returns the
  accuracy on `test` (same layout)."""
  import keras  # pylint: disable=g-import-not-at-top
  keras.utils.set_random_seed(seed)
  model = build_classifier(keras, width)
  model.compile(optimizer=keras.optimizers.Adam(1e-3),
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                metrics=["accuracy"])
  model.fit(to_float(train[0]), np.asarray(train[1]), batch_size=batch_size, epochs=epochs,
            verbose=0, shuffle=True)
  _, accuracy = model.evaluate(to_float(test[0]), np.asarray(test[1]), verbose=0)
  os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
  model.save(out)
  return float(accuracy)


def load_feature_model(path):
  """The saved classifier as a model images -> [features, logits]."""
  import keras  # pylint: disable=g-import-not-at-top
  model = keras.models.load_model(path, compile=False)
  return keras.Model(model.inputs, [model.get_layer("features").output, model.output])


@EVALUATORS.register("mnist")
class MnistScores:
  """MNIST-FD and classifier IS of G's digits and of held-out real digits."""

  network_name = NETWORK

  def __init__(self, data, classifier=None, splits=10, reference_stats=None):
    shape = tuple(getattr(getattr(data, "spec", None), "shape", ()))
    if shape != (28, 28, 1) or not hasattr(data, "images"):
      raise UserError(f"eval.metrics: 'mnist' needs 28x28x1 digit images (the mnist "
                      f"dataset); {type(data).__name__} has samples of shape {shape}")
    if classifier is not None and not isinstance(classifier, str):
      raise UserError(f"eval.metrics: 'mnist' classifier: {classifier!r} is not "
                      "allowed; expected a path to a .keras file")
    self.data, self.splits = data, int(splits)
    self.path = classifier or default_classifier_path()
    self._file = None
    if reference_stats is not None:
      self._file = refstats.check(refstats.load(reference_stats, "eval.metrics: 'mnist' "
                                                "reference_stats"), reference_stats, NETWORK)
      self._file["path"] = reference_stats
    self._model, self._said_missing, self._reference = None, False, None
    self._class_reference = None
    self._floor, self._said_no_labels = {}, False
    classes = getattr(data.spec, "num_classes", None)
    self._accuracy = classes in (None, 10)  # the classifier's classes: the 10 digits
    if not self._accuracy:
      logging.warning("eval: 'mnist' reports no class_accuracy: the data has %d "
                      "classes, the MNIST classifier reads the 10 digits", classes)

  def _ready(self):
    """Loads the classifier and the reference statistics once; False without one."""
    if self._reference is not None:
      return True
    if not os.path.isfile(self.path):
      if not self._said_missing:
        logging.warning("eval: no MNIST classifier at %s, so MNIST-FD and IS are "
                        "skipped; train it with: %s", self.path, self._train_command())
        self._said_missing = True
      return False
    self._model = self._model or load_feature_model(self.path)
    _, held_out = split(len(self.data.images))
    labels = getattr(self.data, "labels", None)
    self._held_images = self.data.images[held_out]
    self._held_labels = None if labels is None else np.asarray(labels)[held_out]
    if self._file is None:
      self._reference, self._class_reference = self.reference_statistics()[:2]
    else:  # the file's moments: no reference digit goes through the classifier
      refstats.check(self._file, self._file["path"], NETWORK, self._model.outputs[0].shape[-1],
                     "eval.metrics: 'mnist' reference_stats")
      self._reference = (self._file["mu"], self._file["sigma"])
      self._class_reference = self._file["class_moments"]
    return True

  def _train_command(self):
    return f"python tools/train_mnist_classifier.py --out {self.path}"

  def reference_statistics(self, num_images=None):
    """((mu, sigma), [(mu_k, sigma_k)] per digit or None without labels, number
    of digits) of the reference digits' features: what tools/fid_stats.py saves."""
    if num_images is not None:
      raise UserError(f"--num_images: {num_images} is not allowed with 'mnist'; its "
                      "reference is the fixed reference split of the data's digits")
    if self._model is None:
      if not os.path.isfile(self.path):
        raise UserError(f"eval.metrics: 'mnist' classifier: no file at {self.path!r}; "
                        f"train it with: {self._train_command()}")
      self._model = load_feature_model(self.path)
    reference, _ = split(len(self.data.images))
    features, _ = self._features(to_float(self.data.images[reference]))
    labels = getattr(self.data, "labels", None)
    classes = None
    if labels is not None:
      labels = np.asarray(labels)[reference]
      classes = [stats.mean_cov(features[labels == k]) for k in range(10)]
    return stats.mean_cov(features), classes, len(reference)

  def _features(self, images):
    features, logits = self._model.predict(images, batch_size=500, verbose=0)
    return np.asarray(features, np.float64), np.asarray(logits, np.float64)

  def _scores(self, images):
    """(FD, IS, logits) of float images."""
    features, logits = self._features(images)
    fd = stats.frechet_distance_from_moments(*self._reference, *stats.mean_cov(features))
    return fd, stats.inception_score(logits, min(self.splits, len(images)))[0], logits

  def evaluate(self, samples, labels=None):
    """The scores of `samples`; with `labels` (their intended digits), also
    the classifier's accuracy against them."""
    if not self._ready():
      return {}
    fd, score, logits = self._scores(np.clip(samples, -1.0, 1.0))
    n = min(len(samples), len(self._held_images))
    if n not in self._floor:  # real digits do not change: once per sample count
      self._floor[n] = self._scores(to_float(self._held_images[:n]))[:2]
    fd_real, is_real = self._floor[n]
    record = {"mnist_fd": fd, "mnist_is": score, "mnist_fd_real": fd_real,
              "mnist_is_real": is_real}
    if labels is not None and self._accuracy:
      record.update(class_accuracy(logits, labels))
      record.update(self._intra_class(samples, labels))
    return record

  def _intra_class(self, samples, labels):
    """{mnist_intra_fd, mnist_intra_fd_real}, or {} (said once) without labelled
    references or with fewer than 2 samples of every class."""
    labels = np.asarray(labels).reshape(-1)
    counts = np.bincount(labels, minlength=10)
    why = None
    if self._class_reference is None or self._held_labels is None:
      why = ("the reference digits have no labels (or reference_stats holds no "
             "class_mu/class_sigma)")
    elif counts.max() < 2:
      why = f"no class has 2 of the {len(labels)} samples"
    if why:
      if not self._said_no_labels:
        logging.warning("eval: 'mnist' reports no mnist_intra_fd: %s", why)
        self._said_no_labels = True
      return {}
    features, _ = self._features(np.clip(samples, -1.0, 1.0))
    fake = stats.intra_class_frechet_distance(self._class_reference, features, labels)[0]
    key = ("intra", tuple(counts))
    if key not in self._floor:  # held-out digits of the same class counts
      pick = np.concatenate([np.flatnonzero(self._held_labels == k)[:c]
                             for k, c in enumerate(counts)])
      real, _ = self._features(to_float(self._held_images[pick]))
      self._floor[key] = stats.intra_class_frechet_distance(
          self._class_reference, real, self._held_labels[pick])[0]
    return {"mnist_intra_fd": fake, "mnist_intra_fd_real": self._floor[key]}


def class_accuracy(logits, labels, num_classes=10):
  """{class_accuracy: overall, class_accuracy/<k>: among labels == k} of the
  classifier's argmax against the intended `labels` (classes never asked for
  are left out rather than reported as 0 or NaN)."""
  labels = np.asarray(labels).reshape(-1)
  if labels.shape[0] != len(logits):
    raise ValueError(f"{len(logits)} samples but {labels.shape[0]} labels")
  hit = np.argmax(logits, axis=-1) == labels
  record = {"class_accuracy": float(hit.mean())}
  for k in range(num_classes):
    if (labels == k).any():
      record[f"class_accuracy/{k}"] = float(hit[labels == k].mean())
  return record
