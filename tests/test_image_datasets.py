"""The image datasets: mnist (real test split when present), image_folder, tfds."""
import gzip
import os
import pathlib
import sys
import types

import numpy as np
import pytest

from tfgan1 import tfimport

tf = tfimport.tensorflow()

import tfgan1.plugins.datasets  # noqa: E402,F401  registers the plugins
from tfgan1 import DATASETS, UserError  # noqa: E402

_SHARED = pathlib.Path(__file__).resolve().parents[2] / "shared/data/mnist"
MNIST_DIR = os.environ.get("TFGAN1_MNIST_DIR", str(_SHARED))
needs_mnist = pytest.mark.skipif(
    not os.path.isfile(os.path.join(MNIST_DIR, "t10k-images-idx3-ubyte.gz")),
    reason=f"MNIST test split not found at {MNIST_DIR} (set TFGAN1_MNIST_DIR)")


def _make(key, /, **kwargs):
  return DATASETS.get(key)(**kwargs)


def _batches(iterator, n):
  return [next(iterator).numpy() for _ in range(n)]


def _user_error(fn, *fragments):
  with pytest.raises(UserError) as info:
    fn()
  message = str(info.value)
  assert "\n" not in message
  for fragment in fragments:
    assert fragment in message, message


def _write_idx(path, array, magic):
  header = np.array([magic, *array.shape], ">i4").tobytes()
  opener = gzip.open if str(path).endswith(".gz") else open
  with opener(path, "wb") as f:
    f.write(header + array.astype(np.uint8).tobytes())


def _write_png(path, pixels):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  tf.io.write_file(str(path), tf.io.encode_png(np.asarray(pixels, np.uint8)))


def _check_checkpoint(data, batch_size, tmp_path):
  """3 batches, save, 2 more; a fresh iterator restored from the save repeats them."""
  iterator = iter(data.dataset(batch_size, seed=11))
  _batches(iterator, 3)
  path = tf.train.Checkpoint(iterator=iterator).save(str(tmp_path / "ckpt"))
  expected = _batches(iterator, 2)
  resumed = iter(data.dataset(batch_size, seed=11))
  assert not np.array_equal(next(iter(data.dataset(batch_size, seed=11))), expected[0])
  tf.train.Checkpoint(iterator=resumed).restore(path).assert_consumed()
  np.testing.assert_array_equal(np.stack(_batches(resumed, 2)), np.stack(expected))


@needs_mnist
def test_mnist_real_test_split_statistics():
  data = _make("mnist", path=MNIST_DIR, split="test")
  assert data.spec.shape == (28, 28, 1) and data.images.shape == (10000, 28, 28, 1)
  assert abs(data.images.mean() - 33.7912) < 1e-2
  np.testing.assert_array_equal(
      np.bincount(data.labels), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
  assert list(data.labels[:5]) == [7, 2, 1, 0, 4]
  batch = next(iter(data.dataset(256, seed=0))).numpy()
  assert batch.shape == (256, 28, 28, 1) and batch.dtype == np.float32
  assert batch.min() == -1.0 and batch.max() == 1.0  # 0 -> -1 and 255 -> 1 exactly
  # Every batch value is a pixel of the data mapped by v / 127.5 - 1.
  assert set(np.round((batch.ravel() + 1) * 127.5)) <= set(range(256))


@needs_mnist
def test_mnist_deterministic_for_a_seed_and_resumable(tmp_path):
  data = _make("mnist", path=MNIST_DIR, split="test")
  first, again = (_batches(iter(data.dataset(32, seed=3)), 2) for _ in range(2))
  other = _batches(iter(data.dataset(32, seed=4)), 2)
  np.testing.assert_array_equal(np.stack(first), np.stack(again))
  assert not np.array_equal(first[0], other[0])
  _check_checkpoint(data, 32, tmp_path)


@needs_mnist
def test_mnist_missing_split_in_the_shared_folder():
  _user_error(lambda: _make("mnist", path=MNIST_DIR),
              "data.split: 'train' needs the train",
              "splits found: test")


def test_mnist_idx_round_trip_and_all_split(tmp_path):
  rng = np.random.default_rng(0)
  train, test = (rng.integers(0, 256, (n, 28, 28), dtype=np.uint8) for n in (5, 3))
  _write_idx(tmp_path / "train-images-idx3-ubyte.gz", train, 2051)
  _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.arange(5), 2049)
  _write_idx(tmp_path / "t10k-images-idx3-ubyte", test, 2051)  # not gzipped
  data = _make("mnist", path=str(tmp_path), split="all")
  np.testing.assert_array_equal(data.images[..., 0], np.concatenate([train, test]))
  assert data.labels is None  # the test split has no label file
  train_only = _make("mnist", path=str(tmp_path))
  np.testing.assert_array_equal(train_only.labels, np.arange(5))
  batch = next(iter(train_only.dataset(5, seed=0))).numpy()
  # A batch as large as the set is a permutation of it (mapped back to uint8).
  pixels = np.round((batch[..., 0] + 1) * 127.5).astype(np.uint8)
  assert sorted(p.tobytes() for p in pixels) == sorted(t.tobytes() for t in train)


def test_mnist_bad_files(tmp_path):
  bad = tmp_path / "t10k-images-idx3-ubyte"
  bad.write_bytes(b"not an idx file at all")
  _user_error(lambda: _make("mnist", path=str(tmp_path), split="test"),
              f"data.path: {str(bad)!r} is not an IDX file with magic number 2051")
  _write_idx(bad, np.zeros((4, 28, 28)), 2051)
  bad.write_bytes(bad.read_bytes()[:-10])  # truncated
  _user_error(lambda: _make("mnist", path=str(tmp_path), split="test").images,
              "the file is truncated")
  _write_idx(bad, np.zeros((4, 32, 32)), 2051)
  _user_error(lambda: _make("mnist", path=str(tmp_path), split="test"),
              "32x32, not 28x28")
  _write_idx(bad, np.zeros((4, 28, 28)), 2051)
  _write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(3), 2049)
  _user_error(lambda: _make("mnist", path=str(tmp_path), split="test").images,
              "has 3 labels for 4 images")


def test_mnist_bad_values(tmp_path):
  _user_error(lambda: _make("mnist", path=str(tmp_path / "nope")),
              "data.path: ", "nope' does not exist")
  _user_error(lambda: _make("mnist", path=str(tmp_path), split="val"),
              "data.split: 'val' is not allowed; choose one of: all, test, train")
  (tmp_path / "x.txt").write_text("hi")
  _user_error(lambda: _make("mnist", path=str(tmp_path / "x.txt")),
              "is neither a folder nor a .npz file")


def test_mnist_npz(tmp_path):
  x = np.arange(2 * 784, dtype=np.uint8).reshape(2, 28, 28)
  np.savez(tmp_path / "m.npz", x_train=x, y_train=np.array([3, 4]))
  data = _make("mnist", path=str(tmp_path / "m.npz"))
  np.testing.assert_array_equal(data.images[..., 0], x)
  np.testing.assert_array_equal(data.labels, [3, 4])
  _user_error(lambda: _make("mnist", path=str(tmp_path / "m.npz"), split="test").images,
              "has no x_test for split 'test'; its arrays: x_train, y_train")
  np.savez(tmp_path / "f.npz", x=x.astype(np.float32))
  _user_error(lambda: _make("mnist", path=str(tmp_path / "f.npz")).images,
              "holds float32 images", "expected uint8 28x28")


def test_mnist_keras_source(monkeypatch):
  import keras  # pylint: disable=g-import-not-at-top
  x = np.full((2, 28, 28), 255, np.uint8)
  monkeypatch.setattr(keras.datasets.mnist, "load_data",
                      lambda: ((x, np.array([1, 2])), (x[:1], np.array([3]))))
  data = _make("mnist", split="all")
  assert data.images.shape == (3, 28, 28, 1) and list(data.labels) == [1, 2, 3]

  def offline():
    raise OSError("Name or service not known")
  monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
  _user_error(lambda: _make("mnist").images, "data.path: null",
              "OSError: Name or service not known", "set data.path")


def _folder_of_squares(root, n=10, side=8):
  """n constant-colour PNGs (value 10*i) in a nested layout; returns the values."""
  for i in range(n):
    sub = "a/b" if i % 3 == 0 else ("c" if i % 3 == 1 else "")
    _write_png(os.path.join(root, sub, f"img{i:02d}.png"),
               np.full((side, side, 3), 10 * i))
  return [10 * i for i in range(n)]


def test_image_folder_loads_recursively_with_exact_pixels(tmp_path):
  values = _folder_of_squares(str(tmp_path))
  (tmp_path / "notes.txt").write_text("ignored: not an image extension")
  data = _make("image_folder", path=str(tmp_path))
  assert data.spec.shape == (8, 8, 3) and data.images.shape == (10, 8, 8, 3)
  assert sorted(data.images[:, 0, 0, 0]) == values
  batch = next(iter(data.dataset(10, seed=0))).numpy()  # one epoch: each image once
  np.testing.assert_allclose(np.sort(batch[:, 0, 0, 0]), np.array(values) / 127.5 - 1,
                             atol=1e-6)
  grey = _make("image_folder", path=str(tmp_path), channels=1)
  assert grey.images.shape == (10, 8, 8, 1)
  picture = data.render(batch[:4])
  assert picture.dtype == np.uint8 and picture.shape == (16, 16, 3)


def test_image_folder_deterministic_and_resumable_across_epochs(tmp_path):
  _folder_of_squares(str(tmp_path))
  data = _make("image_folder", path=str(tmp_path))
  a, b = (np.stack(_batches(iter(data.dataset(4, seed=5)), 6)) for _ in range(2))
  np.testing.assert_array_equal(a, b)
  # Epochs are reshuffled: the first 5 batches (20 draws) hold each image twice.
  counts = np.unique(a[:5, :, 0, 0, 0], return_counts=True)[1]
  assert list(counts) == [2] * 10
  _check_checkpoint(data, 4, tmp_path)  # 3 batches of 4 cross the 10-image epoch


def test_image_folder_resize_and_center_crop(tmp_path):
  wide = np.zeros((4, 8, 3), np.uint8)
  wide[:, 2:6] = 200  # the middle 4 columns survive a center crop to 4x4
  _write_png(str(tmp_path / "wide.png"), wide)
  _write_png(str(tmp_path / "big.png"), np.full((16, 16, 3), 90))
  tf.io.write_file(str(tmp_path / "photo.JPG"),
                   tf.io.encode_jpeg(np.full((12, 12, 3), 90, np.uint8), quality=100))
  data = _make("image_folder", path=str(tmp_path), size=4)
  assert data.spec.shape == (4, 4, 3)
  big, photo, crop = data.images  # sorted file names: big, photo, wide
  assert np.all(crop == 200) and np.all(big == 90)  # downscaling a flat image
  assert np.abs(photo.astype(int) - 90).max() <= 2  # JPEG rounding
  resized = _make("image_folder", path=str(tmp_path), size=[2, 3])
  assert resized.images.shape == (3, 2, 3, 3)


def test_image_folder_errors(tmp_path):
  _user_error(lambda: _make("image_folder", path=str(tmp_path / "missing")),
              "data.path: ", "missing' is not an existing folder")
  _user_error(lambda: _make("image_folder", path=str(tmp_path)),
              f"data.path: no .png, .jpg, .jpeg files under {str(tmp_path)!r}")
  _user_error(lambda: _make("image_folder", path=str(tmp_path), channels=4),
              "data.channels: 4 is not allowed; choose 1 or 3")
  _user_error(lambda: _make("image_folder", path=str(tmp_path), size=[0, 4]),
              "data.size: [0, 4] is not allowed; "
              "expected a positive int or [height, width]")
  _write_png(str(tmp_path / "a.png"), np.zeros((8, 8, 3)))
  _write_png(str(tmp_path / "sub" / "b.png"), np.zeros((6, 8, 3)))
  _user_error(lambda: _make("image_folder", path=str(tmp_path)).images,
              "data.size: images under", "a.png' is 8x8 but ", "b.png' is 6x8",
              "set data.size")
  (tmp_path / "sub" / "broken.png").write_bytes(b"\x89PNG not really")
  _user_error(lambda: _make("image_folder", path=str(tmp_path), size=8).images,
              "data.path: cannot decode ", "broken.png' as an image")


def test_tfds_missing_package_is_a_user_error(monkeypatch):
  # None in sys.modules makes the import fail, installed or not.
  monkeypatch.setitem(sys.modules, "tensorflow_datasets", None)
  _user_error(lambda: _make("tfds", dataset="cifar10"),
              "tensorflow_datasets", "pip install tensorflow-datasets")


@pytest.mark.parametrize("kwargs,message", [
    ({"dataset": ""}, "data.dataset: '' is not allowed; expected a non-empty string"),
    ({"dataset": "cifar10", "split": 3}, "data.split: 3 is not allowed"),
    ({"dataset": "cifar10", "data_dir": ""}, "data.data_dir: '' is not allowed"),
    ({"dataset": "cifar10", "size": "big"}, "data.size: 'big' is not allowed"),
])
def test_tfds_checks_values_before_importing(kwargs, message, monkeypatch):
  monkeypatch.setitem(sys.modules, "tensorflow_datasets", None)  # the import would fail
  _user_error(lambda: _make("tfds", **kwargs), message)


class _FakeBuilder:
  """The slice of tfds.core.DatasetBuilder the plugin uses, per the TFDS docs."""

  def __init__(self, images, shape):
    self._images = images
    self.info = types.SimpleNamespace(
        features={"image": types.SimpleNamespace(shape=shape), "label": None},
        splits={"train": None, "test": None})
    self.prepared = False

  def download_and_prepare(self):
    self.prepared = True

  def as_dataset(self, split, shuffle_files):
    assert self.prepared and not shuffle_files
    if split not in self.info.splits:
      raise ValueError(f"Unknown split {split!r}")
    return tf.data.Dataset.from_tensor_slices({"image": self._images, "label": [0] * 3})


def _fake_tfds(monkeypatch, builder):
  def make_builder(name, data_dir=None):
    if name != "fake":
      raise ValueError(f"Dataset {name} not found.")
    return builder
  monkeypatch.setitem(sys.modules, "tensorflow_datasets",
                      types.SimpleNamespace(builder=make_builder))


def test_tfds_pipeline_against_a_fake_tfds(monkeypatch):
  images = np.stack([np.full((6, 6, 3), v, np.uint8) for v in (0, 100, 255)])
  _fake_tfds(monkeypatch, _FakeBuilder(images, (6, 6, 3)))
  data = _make("tfds", dataset="fake")
  assert data.spec.shape == (6, 6, 3)
  np.testing.assert_array_equal(data.images, images)
  batch = next(iter(data.dataset(3, seed=0))).numpy()
  np.testing.assert_allclose(sorted(batch[:, 0, 0, 0]), [-1.0, 100 / 127.5 - 1, 1.0],
                             atol=1e-6)
  assert _make("tfds", dataset="fake", size=4).images.shape == (3, 4, 4, 3)
  _user_error(lambda: _make("tfds", dataset="other"),
              "data.dataset: cannot make the TFDS builder 'other'", "not found")
  _user_error(lambda: _make("tfds", dataset="fake", split="valid").images,
              "data.split: 'valid' is not allowed for 'fake'", "splits: test, train")
  # Images of varying size (TFDS shape None) need `size`.
  _fake_tfds(monkeypatch, _FakeBuilder(np.zeros((3, 5, 5, 3), np.uint8), (None, None, 3)))
  _user_error(lambda: _make("tfds", dataset="fake"), "data.size: null is not allowed")
  assert _make("tfds", dataset="fake", size=[2, 3]).spec.shape == (2, 3, 3)
