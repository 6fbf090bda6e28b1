"""Truncation and spherical walks: the math by hand, and tools/sample.py end to end."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import ROOT
from tfgan1.engine import assembly as build
from tfgan1 import config as config_lib
from tfgan1.evaluation import sampling
from tfgan1.runner import train
from tfgan1.errors import UserError

tf = build.tf
MNIST = ROOT.parent / "shared" / "data" / "mnist"
TINY_TRAIN = {"steps": 2, "batch_size": 8, "log_every": 1, "sample_every": 100,
              "checkpoint_every": 100}


def test_truncation_redraws_only_the_outliers():
  shape = [200, 16]
  plain = tf.random.Generator.from_seed(3).normal(shape).numpy()
  cut = sampling.truncated_normal(tf.random.Generator.from_seed(3), shape, 0.7)
  assert cut.shape == tuple(shape) and cut.dtype == np.float32
  assert np.abs(cut).max() <= 0.7
  inside = np.abs(plain) <= 0.7
  assert 0.4 < inside.mean() < 0.6  # P(|z| <= 0.7) = 0.516
  np.testing.assert_array_equal(cut[inside], plain[inside])
  assert np.abs(cut[~inside]).std() > 0.1  # redrawn, not clipped to the edge


@pytest.mark.parametrize("bad", [0.0, -1.0])
def test_truncation_threshold_must_be_positive(bad):
  with pytest.raises(UserError, match=r"^--truncation: .* must be > 0"):
    sampling.truncated_normal(tf.random.Generator.from_seed(0), [2, 2], bad)


def test_truncation_refuses_uniform_noise():
  cfg = config_lib.from_dict({"generator": "mlp", "discriminator": "mlp", "loss": "hinge",
                              "data": "ring8", "noise": {"distribution": "uniform"}})
  with pytest.raises(UserError, match=r"^--truncation: 0.5 needs noise.distribution normal"):
    sampling.noise(cfg, tf.random.Generator.from_seed(0), 4, 0.5)


def test_slerp_by_hand():
  z0, z1 = np.array([2.0, 0.0]), np.array([0.0, 4.0])
  path = sampling.slerp(z0, z1, 3)
  np.testing.assert_allclose(path[0], z0, atol=1e-6)
  np.testing.assert_allclose(path[2], z1, atol=1e-6)
  # Halfway round the quarter circle, at the mean of the two norms.
  np.testing.assert_allclose(path[1], 3.0 * np.array([1.0, 1.0]) / np.sqrt(2.0), atol=1e-6)
  angles = np.arctan2(sampling.slerp(z0, z1, 5)[:, 1], sampling.slerp(z0, z1, 5)[:, 0])
  np.testing.assert_allclose(np.diff(angles), np.pi / 8, atol=1e-6)  # even steps
  with pytest.raises(UserError, match=r"^--interpolate: 1 is not allowed"):
    sampling.slerp(z0, z1, 1)


def _train(workdir, raw):
  train.train_and_evaluate(config_lib.from_dict(raw), str(workdir))


@pytest.fixture(scope="module")
def runs(tmp_path_factory, plugins_loaded):
  """{name: workdir} of two 2-step runs: ring8 (toy) and, when here, MNIST."""
  tmp = tmp_path_factory.mktemp("sampling")
  out = {"ring8": tmp / "ring8"}
  _train(out["ring8"], {"generator": {"name": "mlp", "hidden": [8]},
                        "discriminator": {"name": "mlp", "hidden": [8]},
                        "loss": "hinge", "data": "ring8", "noise": {"dim": 4},
                        "train": TINY_TRAIN, "eval": {"num_samples": 10}})
  if MNIST.is_dir():
    out["mnist"] = tmp / "mnist"
    _train(out["mnist"], {"generator": {"name": "dcgan", "base_channels": 8},
                          "discriminator": {"name": "dcgan", "base_channels": 8},
                          "loss": "hinge", "noise": {"dim": 16}, "train": TINY_TRAIN,
                          "data": {"name": "mnist", "path": str(MNIST), "split": "test"}})
  return out


def _tools(jobs):
  """Runs tools/sample.py (or the tool a list starts with) once per argument list,
  side by side."""
  procs = [subprocess.Popen([sys.executable, str(ROOT / "tools" / (
      a[0] if str(a[0]).endswith(".py") else "sample.py")),
                             *map(str, a[1:] if str(a[0]).endswith(".py") else a)],
                            cwd=ROOT, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE) for a in jobs]
  return [(p.wait(timeout=240), *p.communicate()[::-1]) for p in procs]


def test_truncated_noise_of_a_run():
  cfg = config_lib.from_dict({"generator": "mlp", "discriminator": "mlp", "loss": "hinge",
                              "data": "ring8", "noise": {"dim": 3}})
  z = sampling.noise(cfg, tf.random.Generator.from_seed(0), 600, 0.5)
  assert z.shape == (600, 3) and np.abs(z).max() <= 0.5
  plain = sampling.noise(cfg, tf.random.Generator.from_seed(0), 600)
  assert np.abs(plain).max() > 2.0


def test_sample_tool_truncation_and_walks(runs, tmp_path):
  """Three tool calls side by side (each one imports TensorFlow)."""
  ring = runs["ring8"]
  jobs = [["--workdir", ring, "--interpolate", 7, "--truncation", 0.5,
           "--out", tmp_path / "w.npy"],
          ["--workdir", ring, "--interpolate", 7, "--out", tmp_path / "w.png"],
          ["--workdir", ring, "--num", 3, "--out", f"{tmp_path}/points/"],
          ["eval.py", "--workdir", ring, "--truncation", 0.5, "--set", "eval.metrics=[modes]",
           "--set", "eval.num_samples=300"]]
  if "mnist" in runs:
    jobs.append(["--workdir", runs["mnist"], "--interpolate", 6, "--truncation", 0.7,
                 "--out", tmp_path / "walk.png"])
    jobs.append(["--workdir", runs["mnist"], "--num", 5, "--out", f"{tmp_path}/pngs/"])
  results = _tools(jobs)
  for rc, err, _ in results[:1] + results[3:]:
    assert rc == 0, err[-2000:]
  _check_truncated_eval(ring, results[3])
  # A folder: one PNG per sample (outside FID tools read these); points have none.
  rc, err, _ = results[2]
  assert rc == 2 and err.startswith("error: --out: a folder of PNGs needs image samples")
  if "mnist" in runs:
    names = sorted(os.listdir(tmp_path / "pngs"))
    assert names == [f"{i:06d}.png" for i in range(5)]
    image = tf.io.decode_png(tf.io.read_file(str(tmp_path / "pngs" / names[0]))).numpy()
    assert image.shape == (28, 28, 3) and image.std() > 1
  walk = np.load(tmp_path / "w.npy")
  assert walk.shape == (7, 2) and np.isfinite(walk).all()
  rc, err, _ = results[1]
  assert rc == 2 and len(err.strip().splitlines()) == 1
  assert err.startswith("error: --interpolate: a walk picture needs image samples")
  if "mnist" in runs:
    strip = tf.io.decode_png(tf.io.read_file(str(tmp_path / "walk.png"))).numpy()
    assert strip.shape == (28, 6 * 28, 3)
    assert strip.std() > 1  # drawn, not blank


def _check_truncated_eval(workdir, result):
  """tools/eval.py --truncation scores samples of truncated noise, G's BatchNorm
  statistics re-estimated on it: the numbers of the same steps done here."""
  from tfgan1.evaluation import loop
  from tfgan1.runner import reload
  _, _, out = result
  record = json.loads(out.strip().splitlines()[-1])
  sets = ["eval.metrics=[modes]", "eval.num_samples=300"]
  config, data, generator = reload.load_sampler(str(workdir), sets)
  evaluation = loop.Evaluation(config, data)
  plain = evaluation(generator)
  sampling.truncation_statistics(config, generator, 0.5, data.spec.num_classes)
  expected = evaluation(generator, truncation=0.5)
  assert record["truncation"] == 0.5 and set(expected) <= set(record)
  for key, value in expected.items():
    assert record[key] == pytest.approx(value, abs=1e-6, nan_ok=True), key
  assert expected["reverse_kl"] != pytest.approx(plain["reverse_kl"])  # truncated noise used


def test_truncation_statistics_keep_the_mean_and_cut_the_tails():
  """A small BatchNorm G: with the statistics of untruncated noise, truncated
  samples slide toward one mean (MNIST: faint strokes); re-estimated on
  truncated noise they keep the untruncated mean and lose their outliers."""
  import types
  import keras
  keras.utils.set_random_seed(0)
  z_in = keras.Input((8,))
  h = z_in
  for _ in range(2):
    h = keras.layers.ReLU()(keras.layers.BatchNormalization()(keras.layers.Dense(64)(h)))
  generator = keras.Model(z_in, keras.layers.Dense(16, activation="tanh")(h))
  config = types.SimpleNamespace(seed=0, train=types.SimpleNamespace(batch_size=256),
                                 noise=types.SimpleNamespace(dim=8))
  rng = tf.random.Generator.from_seed(1)
  from tfgan1.engine import ema
  ema.standing_statistics(generator, (rng.normal([256, 8]) for _ in range(16)))
  full = sampling.generate(generator, rng.normal([4000, 8]))
  z = sampling.truncated_normal(rng, [4000, 8], 0.5)
  stale = sampling.generate(generator, z)
  sampling.truncation_statistics(config, generator, 0.5)
  fresh = sampling.generate(generator, z)

  def shift(s):  # how far the samples' mean moved from the untruncated one
    return np.abs(s.mean(0) - full.mean(0)).mean()

  def tail(s):  # the 99th percentile of the samples' distance from their mean
    return np.percentile(np.linalg.norm(s - s.mean(0), axis=1), 99)
  assert shift(stale) > 0.2 and shift(fresh) < 0.03, (shift(stale), shift(fresh))
  assert tail(fresh) < tail(full), (tail(fresh), tail(full))
