"""Class-conditional GANs: golden layers, labelled data, fake labels, verify, tools."""
import json
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import ROOT
from tfgan1.engine import assembly as build
from tfgan1.engine import noise
from tfgan1 import config as config_lib
from tfgan1.runner import train
from tfgan1.engine import verify
from tfgan1.engine.trainer import Trainer
from tfgan1.errors import UserError
from tfgan1.registry.spec import DataSpec

tf = build.tf
keras = build.keras
MNIST = ROOT.parent / "shared" / "data" / "mnist"
needs_mnist = pytest.mark.skipif(not MNIST.is_dir(), reason="needs ../shared/data/mnist")


def _cond():
  from tfgan1.plugins.architectures import conditional  # pylint: disable=g-import-not-at-top
  return conditional


def _bn(x, eps=1e-3):
  return (x - x.mean(0)) / np.sqrt(x.var(0) + eps)


def test_conditional_batch_norm_by_hand():
  cond = _cond()
  x_in, y_in = keras.Input((1, 2, 2)), cond.label_input(keras)
  out = cond.conditional_batch_norm(keras, x_in, cond.one_hot(keras, y_in, 3))
  model = keras.Model([x_in, y_in], out)
  tables = [l for l in model.layers if isinstance(l, keras.layers.Dense)]
  gamma, beta = np.array([[2., 3.], [4., 5.], [6., 7.]]), np.array([[.5, 0.], [0., -1.], [1., 1.]])
  tables[0].kernel.assign(gamma)
  tables[1].kernel.assign(beta)
  x = np.array([[[[1., 2.], [3., 6.]]], [[[5., 0.], [-1., 4.]]]], np.float32)  # [2, 1, 2, 2]
  y = np.array([0, 2], np.int32)
  got = model([tf.constant(x), tf.constant(y)], training=True).numpy()
  # BN statistics per channel over batch and space (4 values each).
  h = _bn(x.reshape(-1, 2)).reshape(x.shape)
  want = h * gamma[y][:, None, None, :] + beta[y][:, None, None, :]
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_projection_head_by_hand():
  cond = _cond()
  h_in, y_in = keras.Input((3,)), cond.label_input(keras)
  linear = keras.layers.Dense(1)
  out = cond.projection_logits(keras, h_in, linear(h_in), cond.one_hot(keras, y_in, 2))
  model = keras.Model([h_in, y_in], out)
  w, b = np.array([[1.], [-2.], [.5]]), np.array([.25])
  embed = np.array([[1., 0., 2.], [-1., 3., 0.]])
  linear.set_weights([w, b])
  [t for t in model.layers if isinstance(t, keras.layers.Dense) and t is not linear][0] \
      .kernel.assign(embed)
  h = np.array([[1., 2., 3.], [4., 5., 6.], [1., 1., 1.]], np.float32)
  y = np.array([0, 1, 1], np.int32)
  got = model([tf.constant(h), tf.constant(y)]).numpy()
  # psi(h) + <embed[y], h>: -1.25 + 7; -2.75 + 11; -0.25 + 2
  np.testing.assert_allclose(got[:, 0], [5.75, 8.25, 1.75], rtol=1e-6)


def test_projection_embedding_is_spectrally_normalized(plugins_loaded):
  from tfgan1 import ARCHITECTURES  # pylint: disable=g-import-not-at-top
  d = ARCHITECTURES.get("dcgan").discriminator(keras, DataSpec((28, 28, 1), 10),
                                               base_channels=4, conditional=True)
  # Two strided convs, the logit Dense and the class embedding.
  assert sum(type(l).__name__ == "SpectralNorm" for l in d.layers) == 4


@pytest.mark.parametrize("raw, message", [
    ({"data": "ring8", "generator": "mlp", "discriminator": "mlp"},
     "data: 'ring8' does not take these arguments"),
    ({"data": {"name": "mnist", "labels": True}, "generator": "mlp",
      "discriminator": {"name": "mlp", "conditional": True}},
     "generator.conditional: false, but the data yields 10 classes"),
])
def test_unlabelled_or_unconditional_refuse_in_one_line(plugins_loaded, raw, message):
  raw = {**raw, "loss": "hinge"}
  if raw["data"] == "ring8":
    raw["data"] = {"name": "ring8", "labels": True}
  with pytest.raises(UserError) as e:
    build.everything(config_lib.from_dict(raw))
  assert str(e.value).startswith(message) and "\n" not in str(e.value)


def test_conditional_without_labels_refuses(plugins_loaded):
  cfg = config_lib.from_dict({"data": "ring8", "loss": "hinge", "discriminator": "mlp",
                              "generator": {"name": "mlp", "conditional": True}})
  with pytest.raises(UserError, match=r"^generator.conditional: true needs labelled data"):
    build.everything(cfg)


def test_image_folder_labels_by_subfolder(plugins_loaded, tmp_path):
  from tfgan1 import DATASETS  # pylint: disable=g-import-not-at-top
  for i, cls in enumerate(["cat", "cat", "dog", "emu"]):
    (tmp_path / cls).mkdir(exist_ok=True)
    pixels = tf.fill([4, 4, 3], tf.constant(i * 60, tf.uint8))
    tf.io.write_file(str(tmp_path / cls / f"{i}.png"), tf.io.encode_png(pixels))
  data = DATASETS.get("image_folder")(str(tmp_path), labels=True)
  assert data.spec.num_classes == 3 and list(data.labels) == [0, 0, 1, 2]
  np.testing.assert_allclose(data.class_probs, [.5, .25, .25])
  x, y = next(iter(data.dataset(4, 0)))
  assert y.dtype == tf.int32
  for img, label in zip(x.numpy(), y.numpy()):  # each image keeps its own label
    index = int(round((img[0, 0, 0] + 1) * 127.5 / 60))
    assert label == [0, 0, 1, 2][index]
  tf.io.write_file(str(tmp_path / "loose.png"), tf.io.encode_png(tf.zeros([4, 4, 3], tf.uint8)))
  with pytest.raises(UserError, match=r"^data.labels: true needs one subfolder per class"):
    DATASETS.get("image_folder")(str(tmp_path), labels=True)


class _Skewed:
  spec = DataSpec((2,), 3)
  class_probs = np.array([0.7, 0.0, 0.3])


def test_fake_labels_follow_the_class_distribution_from_the_noise_rng():
  cfg = config_lib.from_dict({"data": "ring8", "loss": "hinge", "generator": "mlp",
                              "discriminator": "mlp", "noise": {"dim": 2}})
  draw = noise.noise_fn(cfg, _Skewed())
  z, y = draw(tf.random.Generator.from_seed(4), 20000)
  assert z.shape == (20000, 2) and y.dtype == tf.int32
  freq = np.bincount(y.numpy(), minlength=3) / 20000
  np.testing.assert_allclose(freq, [0.7, 0.0, 0.3], atol=0.015)
  z2, y2 = draw(tf.random.Generator.from_seed(4), 20000)
  np.testing.assert_array_equal(y.numpy(), y2.numpy())
  np.testing.assert_array_equal(z.numpy(), z2.numpy())


def _mnist_raw(**extra):
  return {"data": {"name": "mnist", "path": str(MNIST), "split": "test", "labels": True},
          "generator": {"name": "dcgan", "base_channels": 4, "conditional": True},
          "discriminator": {"name": "dcgan", "base_channels": 4, "conditional": True},
          "loss": "hinge", "noise": {"dim": 8}, "eval": {"num_samples": 10},
          "train": {"batch_size": 8, "steps": 2, "log_every": 1, "sample_every": 2,
                    "checkpoint_every": 2}, **extra}


@needs_mnist
def test_mnist_labels_and_verify(plugins_loaded):
  """Labels reach D, G and an R1 penalty; DiffAugment on too; the rules agree."""
  cfg = config_lib.from_dict(_mnist_raw(penalties=[{"name": "r1"}], augment={}))
  built = build.everything(cfg)
  real = next(iter(built.data.dataset(8, 0)))
  assert isinstance(real, tuple) and real[1].dtype == tf.int32
  assert set(real[1].numpy()) <= set(range(10)) and built.data.spec.num_classes == 10
  trainer = Trainer(built.gan, cfg.train, built.optimizers, built.noise_fn)
  z = built.noise_fn(tf.random.Generator.from_seed(1), 8)
  result = verify.report(verify.rule_gradients(trainer, real, z, tf.constant([1, 2])))
  assert result["ok"], result
  # The labels matter: D's gradient changes when the fake labels do.
  relabelled = (z[0], (z[1] + 1) % 10)
  other = verify.rule_gradients(trainer, real, relabelled, tf.constant([1, 2]))
  assert verify.compare(other["simultaneous"][0],
                        verify.rule_gradients(trainer, real, z, tf.constant([1, 2]))
                        ["simultaneous"][0])["relative"] > 1e-3


@needs_mnist
def test_class_grid_sample_tool_and_export(plugins_loaded, tmp_path):
  work = tmp_path / "run"
  train.train_and_evaluate(config_lib.from_dict(_mnist_raw()), str(work))
  grid = tf.io.decode_png(tf.io.read_file(str(work / "samples" / "samples_00000002.png")))
  assert grid.shape == (10 * 28, 10 * 28, 3)  # one row per class
  procs = [subprocess.Popen([sys.executable, str(ROOT / "tools" / t), "--workdir", str(work),
                             *a], cwd=ROOT, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
           for t, a in (("export.py", ["--out", str(tmp_path / "saved")]),
                        ("sample.py", ["--classes", "1,4,7", "--num", "6",
                                       "--out", str(tmp_path / "c.png")]))]
  for p in procs:
    assert p.wait(timeout=240) == 0, p.communicate()[1][-2000:]
  assert tf.io.decode_png(tf.io.read_file(str(tmp_path / "c.png"))).shape == (3 * 28, 2 * 28, 3)
  fn = tf.saved_model.load(str(tmp_path / "saved")).signatures["serving_default"]
  inputs = fn.structured_input_signature[1]
  assert json.dumps(sorted(inputs)) == '["labels", "noise"]'
  assert inputs["labels"].dtype == tf.int32
  z = tf.random.stateless_normal([4, 8], seed=[1, 1])
  a = fn(noise=z, labels=tf.constant([0, 0, 0, 0]))["images"].numpy()
  b = fn(noise=z, labels=tf.constant([0, 5, 0, 9]))["images"].numpy()
  np.testing.assert_array_equal(a[[0, 2]], b[[0, 2]])
  assert np.abs(a[[1, 3]].astype(int) - b[[1, 3]]).max() > 0  # the label changes the image
