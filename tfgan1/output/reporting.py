"""What a run shows: the progress line, TensorBoard scalars and images,
`metrics.jsonl`, and PNG sample pictures in the workdir."""
import datetime
import json
import math
import os
import time

from absl import logging
import numpy as np
from tfgan1 import tfimport

tf = tfimport.tensorflow()

# The one place that maps the train step's metric keys to TensorBoard tags.
# TensorBoard groups scalars by the part before the first '/': losses, D's
# mean outputs, gradient norms, precision and learning rates each get a section.
TAGS = {"loss_d": "loss/d", "loss_g": "loss/g",
        "d_real": "d_out/real", "d_fake": "d_out/fake",
        "grad_norm_d": "grad_norm/d", "grad_norm_g": "grad_norm/g",
        "loss_scale": "precision/loss_scale", "skipped_steps": "precision/skipped_steps",
        "lr_d": "lr/d", "lr_g": "lr/g", "lr": "lr/shared",
        "steps_per_sec": "perf/steps_per_sec", "ms_per_step": "perf/ms_per_step"}
_KEYS = {t: k for k, t in TAGS.items()}


def shown(scalars, config):
  """The train scalars worth a chart: `skipped_steps` is left out while it is 0
  in a run without a loss scale that stops at its first bad step (every float32
  run by default), where it cannot count anything before the run stops."""
  if (scalars.get("skipped_steps") == 0 and "loss_scale" not in scalars
      and config.train.on_nonfinite == "stop"):
    return {k: v for k, v in scalars.items() if k != "skipped_steps"}
  return scalars


def tag(key):
  """The TensorBoard tag of a train metric key (`loss_d` -> `loss/d`)."""
  if key in TAGS:
    return TAGS[key]
  if key.startswith("penalty/"):
    return f"loss/{key}"
  return f"train/{key}"


def metric_key(tag_name):
  """The metric key a tag holds, for new tags and the old `train/<key>` ones.

  `eval/<name>` stays as it is. Used by tools that read runs of any age.
  """
  if tag_name in _KEYS:
    return _KEYS[tag_name]
  if tag_name.startswith("loss/penalty/"):
    return tag_name[len("loss/"):]
  if tag_name.startswith("train/"):
    return tag_name[len("train/"):]
  return tag_name


class Progress:
  """Steps per second over the last logging interval, and the ETA from it."""

  def __init__(self, start_step, total_steps):
    self.total = total_steps
    self._last_step = start_step
    self._last_time = time.perf_counter()
    self.steps_per_sec = float("nan")

  def line(self, step, scalars):
    now = time.perf_counter()
    if step > self._last_step:
      self.steps_per_sec = (step - self._last_step) / max(now - self._last_time, 1e-9)
    self._last_step, self._last_time = step, now
    remaining = (self.total - step) / self.steps_per_sec if self.steps_per_sec > 0 else 0
    eta = datetime.timedelta(seconds=round(remaining))
    losses = " ".join(f"{k}={v:.4g}" for k, v in scalars.items()
                      if k.startswith(("loss", "d_", "penalty")))
    return (f"step {step}/{self.total} | {self.steps_per_sec:.1f} steps/s | "
            f"ETA {eta} | {losses}")

  def perf(self):
    """{steps_per_sec, ms_per_step} over the last logging interval."""
    rate = self.steps_per_sec
    return {"steps_per_sec": rate, "ms_per_step": 1000.0 / rate if rate > 0 else float("nan")}


def to_host(metrics):
  """Fetches a dict of scalar tensors (the only device-to-host copy of a step)."""
  return {k: float(v) for k, v in metrics.items()}


def write_scalars(writer, step, scalars, prefix=None):
  """Scalars under `prefix/<key>`, or (no prefix) under their `tag()` group."""
  with writer.as_default(step=step):
    for key, value in scalars.items():
      tf.summary.scalar(f"{prefix}/{key}" if prefix else tag(key), value)
  bad = [k for k, v in scalars.items() if not math.isfinite(v)]
  if bad:
    logging.warning("step %d: non-finite %s", step, ", ".join(bad))


def write_picture(writer, workdir, step, picture, tag="samples"):
  """Writes a uint8 [H, W, 3] picture to TensorBoard and to samples/<tag>_<step>.png."""
  picture = np.asarray(picture, np.uint8)
  with writer.as_default(step=step):
    tf.summary.image(tag, picture[None])
  folder = os.path.join(workdir, "samples")
  os.makedirs(folder, exist_ok=True)
  path = os.path.join(folder, f"{tag}_{step:08d}.png")
  tf.io.write_file(path, tf.io.encode_png(picture))
  return path


def append_metrics(workdir, step, metrics):
  """Appends one JSON object per evaluation to metrics.jsonl."""
  record = {"step": int(step), **{k: _plain(v) for k, v in metrics.items()}}
  with open(os.path.join(workdir, "metrics.jsonl"), "a", encoding="utf-8") as f:
    f.write(json.dumps(record) + "\n")
  return record


def _plain(value):
  return value.item() if hasattr(value, "item") else value
