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
  assert set(same) == {f"{k}_custom" for k in ("fid", "kid", "kid_std", "precision", "recall",
                                               "density", "coverage", "is", "is_std")}
  assert abs(same["fid_custom"]) < 1e-6 and same["precision_custom"] == same["recall_custom"] == 1.0
  assert same["coverage_custom"] == 1.0 and same["density_custom"] == 1.0
  assert 1.0 <= same["is_custom"] <= 5.0
  assert [s[0] for s in seen[:3]] == [(16, 299, 299, 3), (16, 299, 299, 3), (8, 299, 299, 3)]
  assert all(-1.0 <= lo and hi <= 1.0 for _, lo, hi in seen)
  dark = evaluator.evaluate(images / 127.5 - 1.0 - 1.0)  # clipped to black images
  assert dark["fid_custom"] > 1e-3 and dark["precision_custom"] < 0.5


def test_inception_without_its_network_is_one_line_and_no_metrics(tmp_path, caplog):
  from tfgan1.plugins.evaluators import fid_graph, inception
  images = np.zeros((4, 8, 8, 1), np.uint8)
  missing = str(tmp_path / "inception_v3.h5")
  keras_net = inception.InceptionScores(_Images(images), network="keras_imagenet",
                                        weights=missing)
  standard = inception.InceptionScores(_Images(images))  # the 2015 graph: not in the cache
  with caplog.at_level(logging.WARNING):
    for evaluator in (keras_net, standard, keras_net, standard):
      assert evaluator.evaluate(np.zeros((4, 8, 8, 1))) == {}
  lines = [r.getMessage() for r in caplog.records if "inception" in r.getMessage().lower()]
  assert len(lines) == 2 and not any("\n" in l for l in lines)
  assert missing in lines[0]
  assert fid_graph.URL in lines[1] and fid_graph.default_folder() in lines[1]
  assert "no published checksum" in lines[1] and "graph: PATH" in lines[1]
  _user_error(lambda: inception.InceptionScores(_Images(images), network="fid"),
              "'inception' network: 'fid' is not allowed", "inception_2015, keras_imagenet")


# --- the 2015 Inception graph: a small synthetic GraphDef with its tensor names ---------

def _synthetic_graph(path, dim=64, classes=1008):
  """A GraphDef laid out like classify_image_graph_def.pb: a decoded image [H, W, 3]
  (0-255) -> ExpandDims [1, H, W, 3] -> ResizeBilinear 299x299 -> (x - 128) / 128 ->
  ... -> pool_3 [1, 1, 1, dim] -> softmax/logits/MatMul (+ bias) -> softmax, all at
  batch 1 as the original. dim is 64, not 2048, so the statistics stay cheap."""
  import tensorflow as tf
  rng = np.random.default_rng(0)
  graph = tf.Graph()
  with graph.as_default():
    decoded = tf.compat.v1.placeholder(tf.float32, [None, None, 3], name="DecodeJpeg")
    x = tf.expand_dims(decoded, 0, name="ExpandDims")
    x = tf.compat.v1.image.resize_bilinear(x, [299, 299], name="ResizeBilinear")
    x = tf.nn.avg_pool2d((x - 128.0) / 128.0, 23, 23, "VALID")  # [1, 13, 13, 3]
    kernel = tf.constant(rng.standard_normal((1, 1, 3, dim)).astype(np.float32))
    x = tf.nn.relu(tf.nn.conv2d(x, kernel, 1, "VALID") + 0.1)
    pool = tf.nn.avg_pool2d(x, 13, 1, "VALID", name="pool_3")
    flat = tf.reshape(pool, [1, dim], name="pool_3/_reshape")
    weights = tf.constant(rng.standard_normal((dim, classes)).astype(np.float32) * 0.05)
    logits = tf.matmul(flat, weights, name="softmax/logits/MatMul")
    tf.nn.softmax(logits + 1.0, name="softmax")
  with open(path, "wb") as f:
    f.write(graph.as_graph_def().SerializeToString())
  return path


def _fed_as_ttur(raw, pixels):
  """Features and logits the original way: a TF1 session fed one image at a time
  at FID_Inception_Net/ExpandDims:0 (TTUR fid.py), logits as improved-gan's."""
  import tensorflow as tf
  graph = tf.Graph()
  with graph.as_default():
    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(raw)
    tf.compat.v1.import_graph_def(graph_def, name="FID_Inception_Net")
    pool = graph.get_tensor_by_name("FID_Inception_Net/pool_3:0")
    w = graph.get_operation_by_name("FID_Inception_Net/softmax/logits/MatMul").inputs[1]
    logits = tf.matmul(tf.squeeze(pool, [1, 2]), w)
    with tf.compat.v1.Session(graph=graph) as sess:
      out = [sess.run([pool, logits], {"FID_Inception_Net/ExpandDims:0": p[None]})
             for p in pixels]
  return (np.concatenate([o[0].reshape(1, -1) for o in out]),
          np.concatenate([o[1] for o in out]))


def test_the_2015_graph_is_loaded_fed_and_read_as_the_original_fid_code(tmp_path, caplog):
  import tarfile
  import tensorflow as tf
  from tfgan1.evaluation import refstats
  from tfgan1.plugins.evaluators import fid_graph, inception
  pb = _synthetic_graph(str(tmp_path / fid_graph.GRAPH_FILE))
  raw = open(pb, "rb").read()
  rng = np.random.default_rng(1)
  images = rng.integers(0, 256, (24, 12, 12, 3)).astype(np.uint8)
  # Batched TF2 path == one image at a time through a TF1 session.
  features, logits = fid_graph.graph_network(tf, raw)(images.astype(np.float32))
  want_f, want_l = _fed_as_ttur(raw, images.astype(np.float32))
  assert features.shape == (24, 64) and logits.shape == (24, 1008)
  np.testing.assert_allclose(features, want_f, rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(logits, want_l, rtol=1e-4, atol=1e-5)
  # The .tgz (found in a folder) reads the same graph; a pinned checksum is checked.
  with tarfile.open(tmp_path / "inception-2015-12-05.tgz", "w:gz") as archive:
    archive.add(pb, arcname=fid_graph.GRAPH_FILE)
  folder = tmp_path / "cache"
  folder.mkdir()
  (tmp_path / "inception-2015-12-05.tgz").rename(folder / "inception-2015-12-05.tgz")
  assert fid_graph.read_bytes(fid_graph.locate(str(folder))) == raw
  # The evaluator on the graph: plain metric names, the pixels fed unscaled.
  evaluator = inception.InceptionScores(_Images(images), graph=pb, batch_size=10,
                                        kid_subset_size=1000)
  with caplog.at_level(logging.WARNING):
    same = evaluator.evaluate(images / 127.5 - 1.0)
  assert set(same) == {"fid", "kid", "kid_std", "precision", "recall", "density",
                       "coverage", "is", "is_std"}
  # The real set is the same 24 images in another order: FID 0 to float32 rounding.
  assert abs(same["fid"]) < 1e-4 and same["coverage"] == 1.0 and same["density"] == 1.0
  kid_lines = [r.getMessage() for r in caplog.records if "KID subsets" in r.getMessage()]
  assert kid_lines == ["eval: KID subsets of 24 rows, min(24 real, 24 generated) < "
                       "kid_subset_size 1000 (clean-fid's rule); its std is 0"]
  assert same["kid_std"] < 1e-12  # the same rows every subset, in another order
  want = np.exp(np.mean(np.sum(_softmax(want_l) * (np.log(_softmax(want_l))
                                                   - np.log(_softmax(want_l).mean(0))), 1)))
  assert stats.inception_score(logits, 1)[0] == pytest.approx(want, rel=1e-6)
  # Reference statistics of the graph's features: FID from the file, no real features.
  (mu, sigma), _, count = evaluator.reference_statistics()
  refstats.save(str(tmp_path / "ref.npz"), mu, sigma, evaluator.network_name, count)
  from_file = inception.InceptionScores(_Images(images[:0]), graph=pb,
                                        reference_stats=str(tmp_path / "ref.npz"))
  assert from_file.evaluate(images / 127.5 - 1.0) == pytest.approx(
      {"fid": same["fid"], "is": same["is"], "is_std": same["is_std"]}, abs=1e-6)
  refstats.save(str(tmp_path / "keras.npz"), mu, sigma, "keras_imagenet", count)
  _user_error(lambda: inception.InceptionScores(_Images(images), reference_stats=str(
      tmp_path / "keras.npz")), "holds 'keras_imagenet' features; this evaluator uses "
              "'inception_2015'")
  pinned = inception.InceptionScores(_Images(images), graph=pb, graph_sha256="0" * 64)
  with caplog.at_level(logging.WARNING):
    assert pinned.evaluate(images / 127.5 - 1.0) == {}
  assert any("not the graph_sha256" in r.getMessage() for r in caplog.records)


def _softmax(logits):
  e = np.exp(logits - logits.max(1, keepdims=True))
  return e / e.sum(1, keepdims=True)


def test_the_real_2015_graph_when_present():
  from tfgan1.plugins.evaluators import fid_graph
  import os
  path = fid_graph.locate(os.environ.get("TFGAN1_INCEPTION_GRAPH"))
  if path is None:
    pytest.skip("the real Inception graph is absent (offline): set TFGAN1_INCEPTION_GRAPH to "
                f"its .pb or .tgz to run this; it comes from {fid_graph.URL}")
  import tensorflow as tf
  network = fid_graph.graph_network(tf, fid_graph.read_bytes(path))
  grey = np.full((4, 32, 32, 3), 128.0, np.float32)
  features, logits = network(grey)
  # Published structure of the graph (TTUR fid.py, improved-gan model.py): 2048-d
  # pool_3 after a ReLU and average pool, 1008 ImageNet logits; one image
  # repeated gives identical rows and an Inception Score of exactly 1.
  assert features.shape == (4, 2048) and logits.shape == (4, 1008)
  assert (features >= 0).all() and np.allclose(features, features[:1], atol=1e-5)
  assert stats.inception_score(logits, 1)[0] == pytest.approx(1.0, abs=1e-6)


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
  # Held-out digits asked for as their own classes sit exactly on the intra-class floor.
  _, held = mnist.split(len(data.images))
  want = np.bincount(labels, minlength=10)
  pick = np.concatenate([held[data.labels[held] == k][:c] for k, c in enumerate(want)])
  real = from_file.evaluate(mnist.to_float(data.images[pick]), labels=data.labels[pick])
  assert real["mnist_intra_fd"] == pytest.approx(real["mnist_intra_fd_real"], rel=1e-9)
  assert real["mnist_intra_fd_real"] == pytest.approx(read["mnist_intra_fd_real"], rel=1e-9)
  assert read["mnist_intra_fd"] > 2 * read["mnist_intra_fd_real"]  # noise is not digits
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
