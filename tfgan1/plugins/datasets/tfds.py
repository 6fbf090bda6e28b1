"""Image datasets from TensorFlow Datasets (`pip install tensorflow-datasets`).

The dataset's `image` feature is used; its `label` feature too with `labels: true`. The builder is made
when the plugin is built (an unknown name fails there, before training); the
data is downloaded and prepared on first use, then decoded into memory like the
other image datasets (see `image_folder.py`), so keep to sets that fit in RAM
(CIFAR-10, CelebA at 64x64, ...).
"""
import functools

import numpy as np
import tensorflow as tf

from tfgan1 import DATASETS, UserError
from tfgan1.errors import describe
from tfgan1.plugins.datasets.image_folder import (LoadedOnFirstUse, array_dataset,
                                                  check_labels_flag, class_probs,
                                                  parse_size, resize_center_crop)
from tfgan1.registry.spec import DataSpec


def _import_tfds():
  try:
    import tensorflow_datasets  # pylint: disable=g-import-not-at-top
  except ImportError:
    raise UserError("data.name: the 'tfds' dataset needs tensorflow_datasets, "
                    "which is not installed; pip install tensorflow-datasets") from None
  return tensorflow_datasets


def _check_str(field, value, optional=False):
  if (value is None and optional) or (isinstance(value, str) and value):
    return value
  raise UserError(f"{field}: {value!r} is not allowed; expected a non-empty string"
                  + (" or null" if optional else ""))


def _image_shape(name, builder, size):
  """(H, W, C) of the image feature after resizing to `size`, if given."""
  features = builder.info.features
  if "image" not in features:
    raise UserError(f"data.dataset: {name!r} has no 'image' feature; its features: "
                    f"{', '.join(sorted(features))}")
  height, width, channels = tuple(features["image"].shape)
  if channels not in (1, 3):
    raise UserError(f"data.dataset: {name!r} has images with {channels} channels; "
                    "this plugin takes 1 or 3")
  if size is None and (height is None or width is None):
    raise UserError(f"data.size: null is not allowed for {name!r}, whose images "
                    "vary in size; set data.size to an int or [height, width]")
  return (*(size or (height, width)), channels)


def _num_classes(name, builder):
  """The class count of the `label` feature (a ClassLabel), else a UserError."""
  features = builder.info.features
  feature = features["label"] if "label" in features else None
  if feature is None or not getattr(feature, "num_classes", None):
    raise UserError(f"data.labels: true, but {name!r} has no 'label' class feature; its "
                    f"features: {', '.join(sorted(features))}")
  return feature.num_classes


@DATASETS.register("tfds")
class TFDS(LoadedOnFirstUse):
  """The images of TFDS dataset `dataset` (e.g. cifar10), split `split`.

  The argument is `dataset`, not `name`: `name` picks the plugin in the config
  (`data: {name: tfds, dataset: cifar10}`).

  `data_dir` is where TFDS keeps its files (null: its default,
  ~/tensorflow_datasets); `size` resizes and center-crops every image.
  `images` (uint8 [N, H, W, C]) downloads and decodes the split on first use;
  `labels` are int32 [N] with `labels: true`, else None.
  """

  # FID, KID, IS, precision/recall on InceptionV3 features (plugins/evaluators/).
  default_evaluators = ("inception",)

  def __init__(self, dataset, split="train", data_dir=None, size=None, labels=False):
    self.tfds_name = _check_str("data.dataset", dataset)
    self.split = _check_str("data.split", split)
    self.data_dir = _check_str("data.data_dir", data_dir, optional=True)
    self.size = parse_size(size)
    tfds = _import_tfds()
    try:
      self._builder = tfds.builder(dataset, data_dir=data_dir)
    except Exception as e:  # DatasetNotFoundError and kin; their module moves
      raise UserError(f"data.dataset: cannot make the TFDS builder {dataset!r} "
                      f"({describe(e)}); see "
                      "https://www.tensorflow.org/datasets/catalog") from None
    self.use_labels = check_labels_flag(labels)
    classes = _num_classes(dataset, self._builder) if labels else None
    self.spec = DataSpec(shape=_image_shape(dataset, self._builder, self.size),
                         num_classes=classes)

  @property
  def class_probs(self):
    return None if self.labels is None else class_probs(self.labels, self.spec.num_classes)

  @functools.cached_property
  def _arrays(self):
    self._builder.download_and_prepare()
    try:
      ds = self._builder.as_dataset(split=self.split, shuffle_files=False)
    except (ValueError, KeyError) as e:
      raise UserError(f"data.split: {self.split!r} is not allowed for {self.tfds_name!r} "
                      f"({describe(e)}); splits: "
                      f"{', '.join(sorted(self._builder.info.splits))}") from None
    size, use_labels = self.size, self.use_labels
    ds = ds.map(lambda ex: ((resize_center_crop(ex["image"], size) if size else ex["image"]),
                            ex["label"] if use_labels else 0),
                num_parallel_calls=tf.data.AUTOTUNE)
    batches = list(ds.batch(1024).as_numpy_iterator())
    if not batches:
      raise UserError(f"data.split: {self.split!r} of {self.tfds_name!r} is empty")
    images = np.concatenate([b[0] for b in batches])
    labels = np.concatenate([b[1] for b in batches]).astype(np.int32)
    return images, labels if use_labels else None

  def dataset(self, batch_size, seed):
    return array_dataset(self.images, batch_size, seed, self.labels)
