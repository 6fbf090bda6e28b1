"""PNG/JPEG files under a folder (searched recursively), decoded into memory.

Also the helpers the other image datasets (`mnist`, `tfds`) share: size parsing,
resize + center-crop, the in-memory pipeline and `LoadedOnFirstUse`.

Every image dataset here holds its decoded uint8 pixels in memory (what `cache()`
would hold) and streams shuffled *indices* into them: the shuffle buffer is then
8 bytes per example, so a checkpointed iterator stays small (MNIST test split:
2.7 MB against 10.2 MB for cache -> shuffle over the images themselves).
"""
import concurrent.futures
import functools
import os

import numpy as np
import tensorflow as tf

from tfgan1 import DATASETS, UserError
from tfgan1.errors import describe, shown_path
from tfgan1.registry.spec import DataSpec
from tfgan1.output.pictures import image_grid

_EXTENSIONS = (".png", ".jpg", ".jpeg")


def parse_size(size, field="data.size"):
  """None, an int or [height, width] -> None or (height, width)."""
  if size is None:
    return None
  sides = [size, size] if isinstance(size, int) else size
  if (not isinstance(sides, (list, tuple)) or len(sides) != 2 or not all(
      isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in sides)):
    raise UserError(f"{field}: {size!r} is not allowed; expected a positive int "
                    "or [height, width]")
  return tuple(sides)


def resize_center_crop(image, size):
  """uint8 [h, w, c] -> uint8 [*size, c]: scale to cover `size`, crop the middle.

  Works eagerly and inside tf.data (dynamic input sizes). Antialiased, so
  down-scaling does not alias.
  """
  height, width = size
  shape = tf.shape(image)
  h, w = tf.cast(shape[0], tf.float64), tf.cast(shape[1], tf.float64)
  scale = tf.maximum(height / h, width / w)
  new_h = tf.maximum(height, tf.cast(tf.round(h * scale), tf.int32))
  new_w = tf.maximum(width, tf.cast(tf.round(w * scale), tf.int32))
  resized = tf.image.resize(image, [new_h, new_w], antialias=True)
  top, left = (new_h - height) // 2, (new_w - width) // 2
  cropped = resized[top:top + height, left:left + width]
  return tf.cast(tf.clip_by_value(tf.round(cropped), 0.0, 255.0), tf.uint8)


def check_batch_size(batch_size):
  if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
    raise UserError(f"batch_size: {batch_size!r} is not allowed; "
                    "expected a positive integer")


def array_dataset(images, batch_size, seed, labels=None):
  """Endless float32 [-1, 1] batches from uint8 `images` [N, H, W, C].

  With `labels` [N], batches are (images, int32 labels). Deterministic for
  `seed` (the order differs every epoch) and checkpointable.
  """
  check_batch_size(batch_size)
  pixels = tf.constant(images)
  classes = None if labels is None else tf.constant(np.asarray(labels, np.int32))

  def to_float(indices):
    x = tf.cast(tf.gather(pixels, indices), tf.float32) / 127.5 - 1.0
    return x if classes is None else (x, tf.gather(classes, indices))

  ds = tf.data.Dataset.range(len(images))
  ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
  # Repeat before batching so no batch is short and epochs flow into each other;
  # map after batching so one gather serves the whole batch.
  ds = ds.repeat().batch(batch_size, drop_remainder=True)
  ds = ds.map(to_float, num_parallel_calls=tf.data.AUTOTUNE)  # order kept
  return ds.prefetch(tf.data.AUTOTUNE)


def check_labels_flag(labels):
  if not isinstance(labels, bool):
    raise UserError(f"data.labels: {labels!r} is not allowed; expected true or false")
  return labels


def class_probs(labels, num_classes):
  """The share of each class among `labels` (the fake labels' distribution)."""
  counts = np.bincount(np.asarray(labels, np.int64), minlength=num_classes)
  return counts / counts.sum()


class LoadedOnFirstUse:
  """Base of a dataset whose `_arrays` (a `functools.cached_property`) loads
  (uint8 images [N, H, W, C], int labels [N] or None) on first use: building the
  plugin stays cheap, and whatever reads `images` or `labels` first pays."""

  @property
  def images(self):
    return self._arrays[0]

  @property
  def labels(self):
    return self._arrays[1]

  def __len__(self):
    """The number of samples (the run's start banner shows it)."""
    return len(self.images)

  def render(self, samples):
    return image_grid(samples)


def folder_classes(root, files):
  """(class names, label per file): the first folder level under `root` is the class."""
  names = [os.path.relpath(f, root).split(os.sep) for f in files]
  if any(len(n) < 2 for n in names):
    loose = next(os.path.join(root, n[0]) for n in names if len(n) < 2)
    raise UserError(f"data.labels: true needs one subfolder per class under {root!r}, "
                    f"but {loose!r} lies directly in it")
  classes = sorted({n[0] for n in names})
  index = {c: i for i, c in enumerate(classes)}
  return classes, np.array([index[n[0]] for n in names], np.int32)


def _image_files(root):
  found = []
  for folder, dirs, files in os.walk(root):
    dirs.sort()  # os.walk order is the file system's; sort for a stable order
    found += [os.path.join(folder, f) for f in sorted(files)
              if f.lower().endswith(_EXTENSIONS)]
  return found


def _decode(path, channels, size):
  try:
    with open(path, "rb") as f:
      contents = f.read()
  except OSError as e:
    raise UserError(f"data.path: cannot read {path!r}: {e.strerror or e}") from None
  try:
    image = tf.io.decode_image(contents, channels=channels, expand_animations=False)
  except (tf.errors.InvalidArgumentError, ValueError) as e:
    raise UserError(f"data.path: cannot decode {path!r} as an image ({describe(e)}); "
                    "fix or remove the file") from None
  return (resize_center_crop(image, size) if size else image).numpy()


@DATASETS.register("image_folder")
class ImageFolder:
  """All PNG/JPEG images under `path`, as [H, W, channels] in [-1, 1].

  `size` (int or [height, width]) resizes and center-crops every image; without
  it all images must have the same size. Images are decoded on first use.
  """

  # FID, KID, IS, precision/recall on InceptionV3 features (plugins/evaluators/).
  default_evaluators = ("inception",)

  def __init__(self, path, size=None, channels=3, labels=False):
    if not isinstance(path, str) or not os.path.isdir(path):
      raise UserError(f"data.path: {shown_path(path)} is not an existing folder; expected a "
                      "folder of PNG or JPEG images")
    if isinstance(channels, bool) or channels not in (1, 3):
      raise UserError(f"data.channels: {channels!r} is not allowed; choose 1 or 3")
    self.path, self.channels, self.size = path, channels, parse_size(size)
    self.files = _image_files(path)
    if not self.files:
      raise UserError(f"data.path: no {', '.join(_EXTENSIONS)} files under {path!r}")
    self.classes, self.labels = None, None
    if check_labels_flag(labels):  # `labels: true`: one subfolder per class
      self.classes, self.labels = folder_classes(path, self.files)
    # Without `size`, the first image fixes the spec; `images` checks the rest.
    height, width = self.size or _decode(self.files[0], channels, None).shape[:2]
    self.spec = DataSpec(shape=(height, width, channels),
                         num_classes=len(self.classes) if labels else None)

  @functools.cached_property
  def images(self):
    """uint8 [N, H, W, C], decoded in parallel threads (TF ops release the GIL)."""
    decode = functools.partial(_decode, channels=self.channels, size=self.size)
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 1) as pool:
      images = list(pool.map(decode, self.files))  # the first error, in file order
    for path, image in zip(self.files, images):
      if image.shape != self.spec.shape:
        raise UserError(
            f"data.size: images under {self.path!r} differ in size: "
            f"{self.files[0]!r} is {'x'.join(map(str, self.spec.shape[:2]))} but "
            f"{path!r} is {'x'.join(map(str, image.shape[:2]))}; set data.size "
            "to resize them")
    return np.stack(images)

  def __len__(self):
    """The number of samples (the run's start banner shows it)."""
    return len(self.files)

  @property
  def class_probs(self):
    return None if self.labels is None else class_probs(self.labels, len(self.classes))

  def dataset(self, batch_size, seed):
    return array_dataset(self.images, batch_size, seed, self.labels)

  def render(self, samples):
    return image_grid(samples)
