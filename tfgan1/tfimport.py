"""Imports TensorFlow (and Keras) without their start-up chatter on stderr: the
one way the package imports them.

TF's C++ layers log through absl before any Python flag can silence them (the
oneDNN and CUDA-driver notes). A user error must be one line on stderr, so the
import runs with file descriptor 2 pointed at a temporary file, which is shown
only when the import fails or the user asked for TF's logs (TF_CPP_MIN_LOG_LEVEL
set to 0 or 1).
"""
import logging
import os
import sys
import tempfile


def tensorflow():
  """Returns the `tensorflow` module, importing it quietly the first time."""
  if "tensorflow" in sys.modules:
    return sys.modules["tensorflow"]
  level = os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  if level in ("0", "1"):
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    return tf
  tf = _import_quietly()
  # TF's Python-side notes (checkpoint sharding times, unrestored values of a
  # checkpoint we already reported as bad) are not for the user's console.
  tf.get_logger().setLevel("ERROR")
  logging.getLogger("absl").addFilter(_drop_library_info)
  return tf


def keras():
  """Returns the `keras` module (Keras 3), after TensorFlow's quiet import."""
  tensorflow()
  import keras as module  # pylint: disable=g-import-not-at-top
  return module


def _drop_library_info(record):
  """Keeps our own absl INFO lines (progress, eval) and drops TF's and Keras's."""
  if record.levelno >= logging.WARNING:
    return True
  path = record.pathname.replace(os.sep, "/")
  return not any(f"/{lib}/" in path for lib in ("tensorflow", "keras", "tf_keras"))


def _import_quietly():
  sys.stderr.flush()
  saved = os.dup(2)
  with tempfile.TemporaryFile(mode="w+b") as sink:
    os.dup2(sink.fileno(), 2)
    try:
      import tensorflow as tf  # pylint: disable=g-import-not-at-top
      import keras  # noqa: F401  pylint: disable=g-import-not-at-top,unused-import
      # Listing the devices probes CUDA; without a usable driver TF logs an
      # E-level "failed call to cuInit" and goes on with the CPU (the run's
      # banner names the devices). Probing here keeps that line quiet too, and
      # leaves the runtime unstarted, so logical devices can still be set up.
      tf.config.list_physical_devices()
    except BaseException:
      os.dup2(saved, 2)
      sink.seek(0)
      sys.stderr.write(sink.read().decode(errors="replace"))
      raise
    finally:
      os.dup2(saved, 2)
      os.close(saved)
  return tf
