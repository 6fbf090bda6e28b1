"""The FID-standard network: the 2015-12-05 Inception graph of the original FID code.

TTUR's fid.py (bioinf-jku/TTUR, the original FID code; pytorch-fid and
clean-fid reproduce it through ports) takes its features from
`classify_image_graph_def.pb` inside
http://download.tensorflow.org/models/image/imagenet/inception-2015-12-05.tgz:
images of any size, float values in [0, 255], are fed to the tensor
`ExpandDims:0` (the graph resizes them to 299x299 itself and scales them),
the 2048-d `pool_3:0` is the FID feature, and the Inception-score logits are
`pool_3` times the weights of `softmax/logits/MatMul` without the bias
(openai/improved-gan, inception_score/model.py). The graph is imported in TF2
through `tf.compat.v1.wrap_function`, with `ExpandDims:0` mapped to a
[None, None, None, 3] input so batches need not be of one image.

No checksum of the archive or of the .pb is published by TTUR or by TensorFlow
(none was found), so none is built in: `graph_sha256` pins a copy the user has
verified, and is then checked.
"""
import hashlib
import os
import tarfile

import numpy as np

URL = "http://download.tensorflow.org/models/image/imagenet/inception-2015-12-05.tgz"
GRAPH_FILE = "classify_image_graph_def.pb"
INPUT, POOL, LOGITS_OP = "ExpandDims:0", "pool_3:0", "softmax/logits/MatMul"
NAME = "inception_2015"  # the feature network's name in statistics files


def default_folder():
  """~/.cache/tfgan1/inception-2015-12-05 (or under $XDG_CACHE_HOME)."""
  cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
  return os.path.join(cache, "tfgan1", "inception-2015-12-05")


def locate(path=None):
  """The .pb or .tgz to read: `path` itself (a file, or a folder holding one),
  else the cache folder's; None when there is none."""
  folder = default_folder() if path is None else path
  if os.path.isfile(folder):
    return folder
  for name in (GRAPH_FILE, os.path.basename(URL)):
    candidate = os.path.join(folder, name)
    if os.path.isfile(candidate):
      return candidate
  return None


def where_to_put_it(path=None):
  """The one-line hint for a missing graph: where, which URL, which checksum."""
  where = path or os.path.join(default_folder(), GRAPH_FILE)
  return (f"put {GRAPH_FILE} (or the whole .tgz) at {where} or set the inception "
          f"evaluator's graph: PATH; it comes from {URL} (tfgan1 knows no published "
          "checksum for it: set graph_sha256 to pin your copy)")


def read_bytes(path, sha256=None):
  """The serialized GraphDef in `path` (.pb, or the .tgz holding it); with
  `sha256`, a ValueError unless the file's SHA-256 is that."""
  with open(path, "rb") as f:
    raw = f.read()
  if sha256 is not None and hashlib.sha256(raw).hexdigest() != sha256.lower():
    raise ValueError(f"{path} has SHA-256 {hashlib.sha256(raw).hexdigest()}, "
                     f"not the graph_sha256 {sha256}")
  if not path.endswith((".tgz", ".tar.gz")):
    return raw
  with tarfile.open(path, "r:gz") as archive:
    member = next((m for m in archive.getmembers()
                   if os.path.basename(m.name) == GRAPH_FILE), None)
    if member is None:
      raise ValueError(f"{path} holds no {GRAPH_FILE}")
    return archive.extractfile(member).read()


def graph_network(tf, raw):
  """pixels [B, H, W, 3] floats in [0, 255] -> (pool_3 features [B, D], logits
  [B, C]) as float64 NumPy, from a serialized GraphDef with the original names."""
  graph_def = tf.compat.v1.GraphDef()
  graph_def.ParseFromString(raw)

  def imported(images):
    pool, matmul = tf.compat.v1.import_graph_def(
        graph_def, input_map={INPUT: images}, return_elements=[POOL, LOGITS_OP], name="")
    features = tf.reshape(pool, [tf.shape(images)[0], -1])
    return features, tf.matmul(features, matmul.inputs[1])  # no bias, as improved-gan

  fn = tf.compat.v1.wrap_function(imported, [tf.TensorSpec([None, None, None, 3], tf.float32)])

  def network(pixels):
    features, logits = fn(tf.convert_to_tensor(np.asarray(pixels, np.float32)))
    return np.asarray(features, np.float64), np.asarray(logits, np.float64)
  return network
