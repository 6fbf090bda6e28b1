"""checkpoints/best/: the run's checkpoint at the best value of one eval metric."""
import json
import math
import os

from absl import logging

from tfgan1 import tfimport

tf = tfimport.tensorflow()
BEST_SUBDIR = os.path.join("checkpoints", "best")  # inside the run's checkpoints/


class BestCheckpoint:
  """checkpoints/best/: the run's checkpoint at the best `metric` seen so far."""

  def __init__(self, checkpoint, workdir, best):
    self.best = best
    self.folder = os.path.join(workdir, BEST_SUBDIR)
    self.manager = tf.train.CheckpointManager(checkpoint, self.folder, 1)
    self._warned = False

  def _previous(self):
    path = os.path.join(self.folder, "best.json")
    if not os.path.isfile(path):
      return None
    with open(path, encoding="utf-8") as f:
      return json.load(f)["value"]

  def update(self, step, metrics):
    """Saves the checkpoint when metrics[best.metric] beats the stored best."""
    value = metrics.get(self.best.metric)
    if value is None or not math.isfinite(value):
      if not self._warned:
        logging.warning("eval.best.metric %r is not among this evaluation's finite "
                        "metrics (%s); checkpoints/best/ is not updated",
                        self.best.metric, ", ".join(sorted(metrics)) or "none")
        self._warned = True
      return False
    previous = self._previous()  # on disk, so a resumed run keeps its best
    better = previous is None or (value < previous if self.best.mode == "min"
                                  else value > previous)
    if better:
      self.manager.save(checkpoint_number=step)
      with open(os.path.join(self.folder, "best.json"), "w", encoding="utf-8") as f:
        json.dump({"step": int(step), "metric": self.best.metric, "value": value}, f)
    return better
