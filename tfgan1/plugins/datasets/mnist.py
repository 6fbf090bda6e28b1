"""MNIST digits as 28x28x1 images in [-1, 1].

`path` is one of:
  * a folder with the IDX files (`train-images-idx3-ubyte`, `t10k-images-idx3-ubyte`,
    optionally gzipped, labels `*-labels-idx1-ubyte` optional); a file counts as
    the test split if its name contains `t10k` or `test`, else as train if `train`;
  * a `.npz` with `x_train`/`x_test` (as keras.datasets writes it), or one
    unsplit `x` that every split reads whole; `y*` arrays become labels;
  * null: `keras.datasets.mnist.load_data()` (its cache, else a download).
IDX headers are checked when the plugin is built; pixels load on first use.
"""
import functools
import gzip
import os
import re
import zipfile
import zlib

import numpy as np

from tfgan1 import DATASETS, UserError
from tfgan1.errors import describe, shown_path
from tfgan1.plugins.datasets.image_folder import (LoadedOnFirstUse, array_dataset,
                                                  check_labels_flag, class_probs)
from tfgan1.registry.spec import DataSpec

_SPLITS = ("all", "test", "train")
_IMAGES = re.compile(r"images[-.]idx3-ubyte(\.gz)?$")
_IMAGE_MAGIC, _LABEL_MAGIC = 2051, 2049  # 0x00000803 (uint8, 3-D), 0x00000801


def _open(path):
  return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")


# What reading a damaged file raises: gzip.BadGzipFile is an OSError, a cut
# .gz stream an EOFError, a corrupt deflate stream a zlib.error; np.load adds
# ValueError (pickled or unknown content) and zipfile.BadZipFile.
_READ_ERRORS = (OSError, EOFError, zlib.error, ValueError, zipfile.BadZipFile)


def _read(path, size=-1):
  try:
    with _open(path) as f:
      return f.read(size)
  except _READ_ERRORS as e:
    raise UserError(f"data.path: cannot read {path!r} (a truncated or corrupt file?): "
                    f"{describe(e)}") from None


def _header(path, magic, ndim):
  """The dimensions in an IDX header, after checking its magic number."""
  head = _read(path, 4 + 4 * ndim)
  values = np.frombuffer(head, ">i4") if len(head) == 4 + 4 * ndim else ()
  if len(values) == 0 or values[0] != magic:
    raise UserError(f"data.path: {path!r} is not an IDX file with magic number "
                    f"{magic} (uint8, {ndim}-D); is it a corrupt or different file?")
  return tuple(int(v) for v in values[1:])


def _read_idx(path, magic, ndim):
  dims = _header(path, magic, ndim)
  data = _read(path)[4 + 4 * ndim:]
  if len(data) != int(np.prod(dims)):
    raise UserError(f"data.path: {path!r} holds {len(data)} bytes of data but its "
                    f"header says {'x'.join(map(str, dims))}; the file is truncated")
  return np.frombuffer(data, np.uint8).reshape(dims)


def _split_of(name):
  if "t10k" in name or "test" in name:
    return "test"
  return "train" if "train" in name else None


def _idx_files(folder, split):
  """{split: (images path, labels path or None)} for the splits `split` needs."""
  found = {}
  for name in sorted(os.listdir(folder)):
    if _IMAGES.search(name) and _split_of(name):
      # An unzipped copy next to the .gz sorts first and wins.
      found.setdefault(_split_of(name), os.path.join(folder, name))
  wanted = ("train", "test") if split == "all" else (split,)
  missing = [s for s in wanted if s not in found]
  if missing:
    have = ", ".join(sorted(found)) or "none"
    raise UserError(f"data.split: {split!r} needs the {' and '.join(missing)} "
                    f"*-images-idx3-ubyte[.gz] file(s) in {folder!r}; "
                    f"splits found: {have}")
  files = {}
  for s in wanted:
    name = re.sub(r"images([-.])idx3", r"labels\1idx1", os.path.basename(found[s]))
    stem = os.path.join(folder, name.removesuffix(".gz"))
    labels = next((p for p in (stem, stem + ".gz") if os.path.isfile(p)), None)
    files[s] = (found[s], labels)
  return files


def _load_idx(files):
  images, labels = [], []
  for image_path, label_path in files.values():
    images.append(_read_idx(image_path, _IMAGE_MAGIC, 3))
    labels.append(None if label_path is None else _read_idx(label_path, _LABEL_MAGIC, 1))
    if labels[-1] is not None and len(labels[-1]) != len(images[-1]):
      raise UserError(f"data.path: {label_path!r} has {len(labels[-1])} labels for "
                      f"{len(images[-1])} images in {image_path!r}")
  return images, labels


def _load_npz(path, split):
  try:
    return _read_npz(path, split)
  except _READ_ERRORS as e:
    raise UserError(f"data.path: {path!r} is not a readable .npz of uint8 arrays "
                    f"(a truncated, corrupt or pickled file?): {describe(e)}") from None


def _read_npz(path, split):
  npz = np.load(path)
  if not isinstance(npz, np.lib.npyio.NpzFile):
    raise UserError(f"data.path: {path!r} holds one array, not a .npz archive of "
                    "x_train/x_test (or x) arrays")
  with npz:
    keys = {"train": ["x_train"], "test": ["x_test"], "all": ["x_train", "x_test"]}[split]
    if "x" in npz.files and not any(k in npz.files for k in keys):
      keys = ["x"]  # one unsplit array
    missing = [k for k in keys if k not in npz.files]
    if missing:
      raise UserError(f"data.path: {path!r} has no {', '.join(missing)} for split "
                      f"{split!r}; its arrays: {', '.join(npz.files)}")
    images = [npz[k] for k in keys]
    labels = [npz[k.replace("x", "y", 1)] if k.replace("x", "y", 1) in npz.files
              else None for k in keys]
  return images, labels


def _load_keras(split):
  import keras  # pylint: disable=g-import-not-at-top  # only this source needs it
  try:
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
  except Exception as e:  # a download failure: no network, proxy, bad cache file
    raise UserError(f"data.path: null, so MNIST comes from keras.datasets.mnist."
                    f"load_data(), which failed ({describe(e)}); set data.path to "
                    "a folder of IDX files or a .npz") from None
  pick = {"train": [0], "test": [1], "all": [0, 1]}[split]
  return [(x_train, x_test)[i] for i in pick], [(y_train, y_test)[i] for i in pick]


@DATASETS.register("mnist")
class MNIST(LoadedOnFirstUse):
  """MNIST (or any IDX/npz set of 28x28 uint8 images): `path` and `split`.

  `images` are uint8 [N, 28, 28, 1]; `labels` int [N] whenever the source has
  them (None if not), whatever the `labels` flag says.
  """

  # MNIST-FD and classifier IS (plugins/evaluators/mnist.py).
  default_evaluators = ("mnist",)

  def __init__(self, path=None, split="train", labels=False):
    """`labels: true` yields (images, labels) batches, for conditional GANs."""
    if split not in _SPLITS:
      raise UserError(f"data.split: {split!r} is not allowed; choose one of: "
                      f"{', '.join(_SPLITS)}")
    self.path, self.split, self._files = path, split, None
    if path is not None:
      if not isinstance(path, str) or not os.path.exists(path):
        raise UserError(f"data.path: {shown_path(path)} does not exist; expected a folder of "
                        "MNIST IDX files, a .npz file, or null to use keras.datasets")
      if os.path.isdir(path):
        self._files = _idx_files(path, split)
        for image_path, label_path in self._files.values():
          dims = _header(image_path, _IMAGE_MAGIC, 3)
          if dims[1:] != (28, 28):
            raise UserError(f"data.path: {image_path!r} holds images of size "
                            f"{'x'.join(map(str, dims[1:]))}, not 28x28")
          if label_path:
            _header(label_path, _LABEL_MAGIC, 1)
      elif not path.endswith(".npz"):
        raise UserError(f"data.path: {path!r} is neither a folder nor a .npz file")
    self.use_labels = check_labels_flag(labels)
    if labels and self._files is not None:
      unlabelled = [p for p, l in self._files.values() if l is None]
      if unlabelled:
        raise UserError(f"data.labels: true needs a *-labels-idx1-ubyte[.gz] file next "
                        f"to {unlabelled[0]!r}; none found")
    # num_classes only with labels: then the batches carry them (conditional GANs).
    self.spec = DataSpec(shape=(28, 28, 1), num_classes=10 if labels else None)

  @functools.cached_property
  def _arrays(self):
    if self._files is not None:
      images, labels = _load_idx(self._files)
    elif self.path is not None:
      images, labels = _load_npz(self.path, self.split)
    else:
      images, labels = _load_keras(self.split)
    images = np.concatenate([np.asarray(x) for x in images])
    if images.dtype != np.uint8 or images.shape[1:] not in ((28, 28), (28, 28, 1)):
      raise UserError(f"data.path: {self.path!r} holds {images.dtype} images of shape "
                      f"{images.shape[1:]}; expected uint8 28x28")
    labels = None if any(y is None for y in labels) else np.concatenate(labels)
    return images.reshape(-1, 28, 28, 1), labels

  def _used_labels(self):
    if not self.use_labels:
      return None
    if self.labels is None:
      raise UserError(f"data.labels: true, but {self.path!r} holds no labels (y arrays)")
    return self.labels

  @property
  def class_probs(self):
    labels = self._used_labels()
    return None if labels is None else class_probs(labels, 10)

  def dataset(self, batch_size, seed):
    return array_dataset(self.images, batch_size, seed, self._used_labels())
