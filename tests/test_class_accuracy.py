"""Class accuracy of a conditional G's samples: golden values and a tiny real run."""
import json
import logging

import numpy as np
import pytest

from tests.test_cli_run import _read_events
from tests.test_conditional import _mnist_raw, needs_mnist
from tfgan1 import config as config_lib
from tfgan1.evaluation import loop as evaluation
from tfgan1.evaluation import sampling
from tfgan1.runner import train
from tfgan1.registry.spec import DataSpec


class _Digits:
  """A dataset plugin's surface: spec (10 classes unless told) and uint8 images."""

  def __init__(self, num_classes=10):
    self.images = np.random.default_rng(0).integers(0, 256, (60, 28, 28, 1), np.uint8)
    self.spec = DataSpec(shape=(28, 28, 1), num_classes=num_classes)


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory):
  """A saved "classifier" with the real one's layers whose answer is known: the
  logits are the first 10 pixels of the top row, so a sample with pixel (0, k)
  lit is read as digit k."""
  import keras
  inputs = keras.Input((28, 28, 1))
  flat = keras.layers.Flatten()(inputs)
  select = np.zeros((28 * 28, 10), np.float32)
  select[np.arange(10), np.arange(10)] = 1.0
  features = keras.layers.Dense(10, name="features")
  logits = keras.layers.Dense(10, name="logits")
  model = keras.Model(inputs, logits(features(flat)))
  features.set_weights([select, np.zeros(10, np.float32)])
  logits.set_weights([np.eye(10, dtype=np.float32), np.zeros(10, np.float32)])
  path = str(tmp_path_factory.mktemp("stand_in") / "classifier.keras")
  model.save(path)
  return path


def _read_as(digits):
  """Float samples in [-1, 1] that the stand-in reads as `digits`."""
  samples = -np.ones((len(digits), 28, 28, 1), np.float32)
  samples[np.arange(len(digits)), 0, digits, 0] = 1.0
  return samples


def test_class_accuracy_golden(plugins_loaded, stand_in, caplog):
  from tfgan1.plugins.evaluators import mnist
  labels = sampling.class_labels(20, 10)  # what evaluation asks for: 0..9, twice
  read = labels.copy()
  read[3], read[13], read[17] = 5, 8, 1  # both 3s and one of the 7s misread
  evaluator = mnist.MnistScores(_Digits(), classifier=stand_in)
  record = evaluator.evaluate(_read_as(read), labels=labels)
  assert record["class_accuracy"] == pytest.approx(17 / 20, abs=1e-12)
  expected = {k: 1.0 for k in range(10)}
  expected[3], expected[7] = 0.0, 0.5
  assert {k: record[f"class_accuracy/{k}"] for k in range(10)} == expected
  assert {"mnist_fd", "mnist_is", "mnist_fd_real"} <= set(record)
  # Unconditional (no labels): the same scores, no class accuracy.
  plain = evaluator.evaluate(_read_as(read))
  assert not [k for k in plain if k.startswith("class_accuracy")]
  assert plain["mnist_fd"] == record["mnist_fd"]
  # Classes never asked for are left out, not reported as 0.
  assert set(mnist.class_accuracy(np.eye(10)[[2, 2, 4]], [2, 4, 4])) == {
      "class_accuracy", "class_accuracy/2", "class_accuracy/4"}
  # Labelled data whose classes are not the 10 digits: said once, no accuracy.
  with caplog.at_level(logging.WARNING):
    other = mnist.MnistScores(_Digits(num_classes=3), classifier=stand_in)
  assert "class_accuracy" not in other.evaluate(_read_as(read), labels=labels % 3)
  assert any("the data has 3 classes" in r.getMessage() for r in caplog.records)


def test_labels_go_only_to_evaluators_that_take_them():
  class Plain:
    def evaluate(self, samples):
      return {"n": len(samples)}

  class Labelled:
    def evaluate(self, samples, labels=None):
      return {"n": len(samples), "labelled": labels is not None}

  samples, labels = np.zeros((4, 2)), np.arange(4)
  assert evaluation._evaluate(Plain(), samples, labels) == {"n": 4}
  assert evaluation._evaluate(Labelled(), samples, labels)["labelled"] is True
  assert evaluation._evaluate(Labelled(), samples, None)["labelled"] is False


@needs_mnist
@pytest.mark.parametrize("conditional", [True, False])
def test_tiny_run_reports_class_accuracy(plugins_loaded, stand_in, tmp_path, conditional):
  raw = _mnist_raw(eval={"num_samples": 20, "metrics": [{"name": "mnist",
                                                          "classifier": stand_in}],
                         "best": {"metric": "class_accuracy", "mode": "max"}})
  if not conditional:
    raw["data"]["labels"] = False
    raw["generator"]["conditional"] = raw["discriminator"]["conditional"] = False
  work = tmp_path / "run"
  train.train_and_evaluate(config_lib.from_dict(raw), str(work))
  record = json.loads((work / "metrics.jsonl").read_text().splitlines()[-1])
  scalars, _ = _read_events(work)
  keys = ["class_accuracy"] + [f"class_accuracy/{k}" for k in range(10)]
  if not conditional:
    assert not [k for k in record if k.startswith("class_accuracy")] and "mnist_fd" in record
    assert not [t for t in scalars if t.startswith("eval/class_accuracy")]
    return
  assert all(0.0 <= record[k] <= 1.0 for k in keys), record
  # 20 balanced samples: 2 per digit, so each class's accuracy is 0, 0.5 or 1.
  assert {record[f"class_accuracy/{k}"] for k in range(10)} <= {0.0, 0.5, 1.0}
  assert record["class_accuracy"] == pytest.approx(
      np.mean([record[f"class_accuracy/{k}"] for k in range(10)]))
  for k in keys:
    assert scalars[f"eval/{k}"] == [(2, pytest.approx(record[k]))]
  best = json.loads((work / "checkpoints" / "best" / "best.json").read_text())
  assert best == {"step": 2, "metric": "class_accuracy", "value": record["class_accuracy"]}
