"""The evaluators plugin kind: config, defaults, the mnist and inception evaluators."""
import json
import logging

import numpy as np
import pytest

from tests.conftest import ROOT
from tests.test_image_datasets import _user_error
from tfgan1 import EVALUATORS
from tfgan1 import config as config_lib
from tfgan1.evaluation import stats
from tfgan1.config import yamlio
from tfgan1.registry.spec import DataSpec


def _config(*overrides, name="ring8.yaml"):
  raw = yamlio.load_file(str(ROOT / "configs" / name))
  return config_lib.from_dict(raw, overrides)


def test_old_eval_every_key_says_where_it_went():
  _user_error(lambda: _config("train.eval_every=500"),
              "train.eval_every: this key moved to eval.every", "eval.every: 500")
  config = _config("eval.every=500", "eval.best={metric: modes, mode: max}")
  assert config.eval.every == 500 and config.eval.best.mode == "max"
  _user_error(lambda: _config("eval.best={metric: modes, mode: up}"),
              "eval.best.mode: 'up' is not allowed; choose one of: max, min")
  _user_error(lambda: _config("eval.best={mode: max}"), "eval.best.metric: missing")


def test_metrics_list_defaults_and_errors(plugins_loaded):
  from tfgan1.engine import assembly as build
  from tfgan1.evaluation import loop as evaluation
  ring = build.dataset(_config())
  assert [n for n, _ in evaluation.Evaluation(_config(), ring).evaluators] == ["modes"]
  assert evaluation.Evaluation(_config("eval.metrics=[]"), ring).evaluators == []
  assert evaluation.Evaluation(_config("eval.metrics=[]"), ring)(None) == {}
  short = _config("eval.metrics=[modes]")
  assert short.eval.metrics[0].name == "modes"
  _user_error(lambda: evaluation.Evaluation(_config("eval.metrics=[fid]"), ring),
              "eval.metrics[0].name: unknown evaluator 'fid'; known: ", "inception, mnist, modes")
  _user_error(lambda: evaluation.Evaluation(_config("eval.metrics=[{name: modes, k: 3}]"), ring),
              "eval.metrics[0]: 'modes' does not take these arguments")
  _user_error(lambda: evaluation.Evaluation(_config("eval.metrics=[mnist]"), ring),
              "'mnist' needs 28x28x1 digit images", "shape (2,)")
  _user_error(lambda: evaluation.Evaluation(_config("eval.metrics=[inception]"), ring),
              "'inception' needs grey or RGB images")
  assert {"inception", "mnist", "modes"} <= set(EVALUATORS.keys())


# --- mnist: a tiny classifier on synthetic digits, trained here in seconds -----------

def _digits(num, seed):
  """uint8 [num, 28, 28, 1] "digits": class c is a bright 6x6 block at its own place."""
  rng = np.random.default_rng(seed)
  labels = rng.integers(10, size=num)
  images = rng.integers(0, 40, size=(num, 28, 28, 1))
  for i, c in enumerate(labels):
    r, col = 2 + 14 * (c // 5), 1 + 5 * (c % 5)
    images[i, r:r + 8, col:col + 6] = 255
  return images.astype(np.uint8), labels


@pytest.fixture(scope="module")
def digits(tmp_path_factory, plugins_loaded):
  from tfgan1 import DATASETS
  from tfgan1.plugins.evaluators import mnist
  folder = tmp_path_factory.mktemp("digits")
  images, labels = _digits(1000, 0)
  np.savez(folder / "digits.npz", x_train=images, y_train=labels)
  keep, held = mnist.split(len(images))
  path = str(folder / "classifier.keras")
  accuracy = mnist.train_classifier((images[keep], labels[keep]), (images[held], labels[held]),
                                    path, epochs=3, width=4, batch_size=32)
  data = DATASETS.get("mnist")(path=str(folder / "digits.npz"), split="train")
  return data, path, accuracy


def test_split_is_fixed_and_disjoint():
  from tfgan1.plugins.evaluators import mnist
  keep, held = mnist.split(1000)
  assert len(held) == 200 and len(keep) == 800
  assert sorted(np.concatenate([keep, held]).tolist()) == list(range(1000))
  again_keep, again_held = mnist.split(1000)
  assert (keep == again_keep).all() and (held == again_held).all()


def test_mnist_without_classifier_says_how_to_train_one(digits, tmp_path, caplog):
  from tfgan1.plugins.evaluators import mnist
  data, _, _ = digits
  missing = str(tmp_path / "none.keras")
  evaluator = mnist.MnistScores(data, classifier=missing)
  samples = mnist.to_float(data.images[:50])
  with caplog.at_level(logging.WARNING):
    assert evaluator.evaluate(samples) == {}
    assert evaluator.evaluate(samples) == {}  # said once, not at every evaluation
  lines = [r.getMessage() for r in caplog.records if "MNIST classifier" in r.getMessage()]
  assert len(lines) == 1 and "\n" not in lines[0]
  assert f"python tools/train_mnist_classifier.py --out {missing}" in lines[0]


def test_mnist_scores_against_the_real_floor(digits):
  from tfgan1.plugins.evaluators import mnist
  data, path, accuracy = digits
  assert accuracy > 0.9  # the synthetic classes are easy: the tool really trained
  evaluator = mnist.MnistScores(data, classifier=path)
  _, held = mnist.split(len(data.images))
  real = mnist.to_float(data.images[held])
  record = evaluator.evaluate(real)
  assert set(record) == {"mnist_fd", "mnist_is", "mnist_fd_real", "mnist_is_real"}
  # The held-out digits themselves score exactly the floor.
  assert record["mnist_fd"] == pytest.approx(record["mnist_fd_real"], rel=1e-9)
  assert record["mnist_is"] == pytest.approx(record["mnist_is_real"], rel=1e-9)
  assert 2.0 < record["mnist_is_real"] <= 10.0
  # The FD is the stats FD of the classifier's penultimate features.
  model = mnist.load_feature_model(path)
  keep, _ = mnist.split(len(data.images))
  ref = model.predict(mnist.to_float(data.images[keep]), verbose=0)[0]
  gen = model.predict(real, verbose=0)[0]
  assert record["mnist_fd"] == pytest.approx(stats.frechet_distance(ref, gen), rel=1e-6)
  # One repeated digit: low IS, FD far above the floor; noise likewise.
  collapsed = evaluator.evaluate(np.repeat(real[:1], 200, axis=0))
  noise = evaluator.evaluate(np.random.default_rng(0).uniform(-1, 1, (200, 28, 28, 1)))
  assert collapsed["mnist_is"] < 1.5 and collapsed["mnist_fd"] > 5 * record["mnist_fd_real"]
  assert noise["mnist_fd"] > 5 * record["mnist_fd_real"]
  assert collapsed["mnist_fd_real"] == record["mnist_fd_real"]  # floor: same n, same value


# --- inception: the code path with a small stand-in network of the same interface ----

class _Images:
  """A dataset plugin's surface: spec and in-memory uint8 images."""

  def __init__(self, images):
    self.images = images
    self.spec = DataSpec(shape=images.shape[1:])


def _stand_in():
  """A small Keras net with InceptionV3's interface: 299x299x3 in [-1, 1] ->
  (pooled features, class logits); it records what it was fed."""
  import keras
  keras.utils.set_random_seed(0)
  inputs = keras.Input((299, 299, 3))
  x = keras.layers.AveragePooling2D(23)(inputs)
  x = keras.layers.Conv2D(12, 3, activation="tanh")(x)
  pool = keras.layers.GlobalAveragePooling2D()(x)
  model = keras.Model(inputs, [pool, keras.layers.Dense(5)(pool)])
  seen = []

  def network(x):
    seen.append((tuple(x.shape), float(np.min(x)), float(np.max(x))))
    return model(x)
  return network, seen


def test_inception_path_with_a_stand_in_network():
  from tfgan1.plugins.evaluators import inception
  rng = np.random.default_rng(0)
  images = rng.integers(0, 256, (40, 8, 8, 3)).astype(np.uint8)
  network, seen = _stand_in()
  evaluator = inception.InceptionScores(_Images(images), network=network, batch_size=16,
                                        kid_subset_size=40)
  same = evaluator.evaluate(images / 127.5 - 1.0)
  assert set(same) == {"fid", "kid", "kid_std", "precision", "recall", "density",
                       "coverage", "is", "is_std"}
  assert abs(same["fid"]) < 1e-6 and same["precision"] == same["recall"] == 1.0
  assert same["coverage"] == 1.0 and 1.0 <= same["is"] <= 5.0
  assert [s[0] for s in seen[:3]] == [(16, 299, 299, 3), (16, 299, 299, 3), (8, 299, 299, 3)]
  assert all(-1.0 <= lo and hi <= 1.0 for _, lo, hi in seen)
  dark = evaluator.evaluate(images / 127.5 - 1.0 - 1.0)  # clipped to black images
  assert dark["fid"] > 1e-3 and dark["precision"] < 0.5


def test_inception_without_weights_is_one_line_and_no_metrics(tmp_path, caplog):
  from tfgan1.plugins.evaluators import inception
  images = np.zeros((4, 8, 8, 1), np.uint8)
  missing = str(tmp_path / "inception_v3.h5")
  evaluator = inception.InceptionScores(_Images(images), weights=missing)
  with caplog.at_level(logging.WARNING):
    assert evaluator.evaluate(np.zeros((4, 8, 8, 1))) == {}
    assert evaluator.evaluate(np.zeros((4, 8, 8, 1))) == {}
  lines = [r.getMessage() for r in caplog.records if "inception" in r.getMessage()]
  assert len(lines) == 1 and "\n" not in lines[0] and missing in lines[0]


def test_best_checkpoint_survives_a_resume(tmp_path, caplog):
  import tensorflow as tf
  from tfgan1.evaluation import loop as evaluation
  value = tf.Variable(0.0)
  checkpoint = tf.train.Checkpoint(value=value)
  best = config_lib.BestConfig(metric="fd", mode="min")
  keeper = evaluation.BestCheckpoint(checkpoint, str(tmp_path), best)
  for step, fd in ((10, 3.0), (20, 2.0), (30, 5.0)):
    value.assign(float(step))
    keeper.update(step, {"fd": fd})
  folder = tmp_path / "checkpoints" / "best"
  assert sorted(p.name for p in folder.glob("*.index")) == ["ckpt-20.index"]
  # A resumed run (a new keeper) compares against the stored best, not from scratch.
  again = evaluation.BestCheckpoint(checkpoint, str(tmp_path), best)
  assert not again.update(40, {"fd": 2.5})
  with caplog.at_level(logging.WARNING):
    assert not again.update(50, {"other": 1.0}) and not again.update(60, {})
  assert sum("eval.best.metric 'fd'" in r.getMessage() for r in caplog.records) == 1
  value.assign(-1.0)
  checkpoint.restore(tf.train.latest_checkpoint(str(folder)))
  assert float(value.numpy()) == 20.0
  assert json.loads((folder / "best.json").read_text()) == {"step": 20, "metric": "fd",
                                                            "value": 2.0}


def test_reverse_kl_over_every_sample_and_pacgans_over_high_quality_ones():
  from tfgan1.plugins.evaluators import modes
  angles = np.arange(8) * np.pi / 4
  centers = 2.0 * np.stack([np.cos(angles), np.sin(angles)], 1)
  std = 0.25  # 3 std = 0.75, exact in binary
  at_modes = np.repeat(centers[:2], 100, axis=0)  # high quality, modes 0 and 1
  far = np.repeat(centers[2:6] * 1.5, 50, axis=0)  # nearest modes 2-5, 1.0 away: low quality
  record = modes.mode_metrics(np.concatenate([at_modes, far]), centers, std)
  # Every sample: p = (1/4, 1/4, 1/8 x 4, 0, 0), KL to uniform = 1/2 log 2.
  assert record["reverse_kl"] == pytest.approx(0.5 * np.log(2), abs=1e-12)
  # PacGAN (high-quality samples only): p = (1/2, 1/2, 0, ...), KL = log 4.
  assert record["reverse_kl_pacgan"] == pytest.approx(np.log(4), abs=1e-12)
  assert record["modes"] == 2 and record["high_quality"] == 0.5
  # PacGAN's `min_dis < 3`: a sample exactly 3 std away is not high quality.
  edge = modes.mode_metrics(centers[:1] + [[0.75, 0.0]], centers, std)
  assert edge["high_quality"] == 0.0 and edge["modes"] == 0
  assert np.isnan(edge["reverse_kl_pacgan"]) and edge["reverse_kl"] == pytest.approx(np.log(8))


# --- reference statistics files and the intra-class FD --------------------------------

def test_fid_stats_round_trip_gives_the_same_mnist_fd(digits, tmp_path):
  import subprocess
  import sys
  from tfgan1.evaluation import refstats
  from tfgan1.plugins.evaluators import mnist
  data, path, _ = digits
  out = tmp_path / "stats" / "digits.npz"
  done = subprocess.run(
      [sys.executable, str(ROOT / "tools" / "fid_stats.py"), "--config",
       str(ROOT / "configs" / "mnist_cdcgan.yaml"), "--out", str(out),
       f"--set=data={{name: mnist, path: {data.path}, split: train}}",
       f"--set=eval.metrics=[{{name: mnist, classifier: {path}}}]"],
      capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)
  assert done.returncode == 0, done.stderr[-2000:]
  report = json.loads(done.stdout.strip().splitlines()[-1])
  assert report == {"out": str(out), "evaluator": "mnist", "network": "mnist_classifier",
                    "num_images": 800, "dim": 16, "classes": 10}
  saved = refstats.load(str(out))
  assert saved["network"] == "mnist_classifier" and saved["num_images"] == 800
  # Read back: the same MNIST-FD as computing the reference features.
  samples = np.random.default_rng(1).uniform(-1, 1, (120, 28, 28, 1)).astype(np.float32)
  labels = np.arange(120) % 10
  computed = mnist.MnistScores(data, classifier=path).evaluate(samples, labels=labels)
  from_file = mnist.MnistScores(data, classifier=path, reference_stats=str(out))
  read = from_file.evaluate(samples, labels=labels)
  for key in ("mnist_fd", "mnist_fd_real", "mnist_intra_fd", "mnist_intra_fd_real"):
    assert read[key] == pytest.approx(computed[key], rel=1e-6, abs=1e-6), key
  # A published file (TTUR / clean-fid: mu and sigma only) reads unchanged.
  published = tmp_path / "published.npz"
  np.savez_compressed(published, mu=saved["mu"], sigma=saved["sigma"])
  plain = refstats.load(str(published))
  assert plain["network"] is None and plain["class_moments"] is None
  assert (plain["mu"] == saved["mu"]).all() and (plain["sigma"] == saved["sigma"]).all()
  # Another network's file, or another dimension: one line each.
  refstats.save(str(tmp_path / "keras.npz"), saved["mu"], saved["sigma"], "keras_imagenet", 5)
  _user_error(lambda: mnist.MnistScores(data, reference_stats=str(tmp_path / "keras.npz")),
              "holds 'keras_imagenet' features; this evaluator uses 'mnist_classifier'")
  np.savez(tmp_path / "wide.npz", mu=np.zeros(3), sigma=np.eye(3))
  wide = mnist.MnistScores(data, classifier=path, reference_stats=str(tmp_path / "wide.npz"))
  _user_error(lambda: wide.evaluate(samples), "holds 3-d features",
              "'mnist_classifier' features are 16-d")
  _user_error(lambda: mnist.MnistScores(data, reference_stats=str(tmp_path / "none.npz")),
              "reference_stats: ", "is not a file", "tools/fid_stats.py")


def test_intra_class_fd_is_the_mean_of_per_class_fds():
  rng = np.random.default_rng(9)
  feats = rng.standard_normal((60, 3))
  labels = np.arange(60) % 3
  moments = [(np.full(3, float(k)), np.eye(3) * (k + 1)) for k in range(3)]
  mean, per_class = stats.intra_class_frechet_distance(moments, feats, labels)
  expected = [stats.frechet_distance_from_moments(*moments[k], *stats.mean_cov(feats[labels == k]))
              for k in range(3)]
  assert per_class == pytest.approx(dict(enumerate(expected)), rel=1e-12)
  assert mean == pytest.approx(np.mean(expected), rel=1e-12)
  # A class-blind FD cannot see a generator that swaps classes; the intra-class FD can.
  shifted = [(m + 5.0 * (k - 1), s) for k, (m, s) in enumerate(moments)]
  good = [rng.multivariate_normal(m, s, 200) for m, s in shifted]
  same = stats.intra_class_frechet_distance(shifted, np.concatenate(good), np.repeat([0, 1, 2], 200))
  swapped = stats.intra_class_frechet_distance(shifted, np.concatenate(good[::-1]),
                                               np.repeat([0, 1, 2], 200))
  assert same[0] < 0.5 and swapped[0] > 50
