"""Evaluation during and after training: the configured evaluators on G's samples.

An evaluator is an `EVALUATORS` plugin: built as `cls(data, **kwargs)` from an
`eval.metrics` entry (or the dataset's `default_evaluators` when `metrics` is
absent), then called as `evaluate(samples) -> {metric: float}` with `samples` a
float32 NumPy array [N, *data shape] in the data's own coordinates. Every
evaluator of one evaluation sees the same samples. For a conditional G the
samples are drawn for known labels, cycling through the classes (so balanced),
from the same fixed seed; an evaluator whose `evaluate` has a `labels`
parameter gets them (int32 [N]) as `evaluate(samples, labels=labels)`.

Results go to metrics.jsonl and TensorBoard `eval/*`. With `eval.best`, the run's
checkpoint at the best value so far is also kept in checkpoints/best/ (one
checkpoint, plus best.json naming its step and value).
"""
import inspect

from absl import logging

from tfgan1 import config as config_lib
from tfgan1 import registry
from tfgan1.engine.plugin_calls import construct
from tfgan1.errors import UserError
from tfgan1.evaluation import sampling
from tfgan1.evaluation.best import BestCheckpoint
from tfgan1.output import reporting
from tfgan1.registry import contracts

_SAMPLE_SEED_OFFSET = 1  # evaluation noise: seed + 1, apart from training's RNG


def _spec(entry, field):
  """A dataset's default evaluator (a name or {name, **kwargs}) as a PluginSpec."""
  try:
    return config_lib.build(config_lib.PluginSpec, entry, field)
  except UserError as e:
    raise UserError(f"{e} (the dataset's default_evaluators)") from None


def specs(config, data):
  """[(field, PluginSpec)] of the evaluators this config runs on `data`."""
  if config.eval.metrics is not None:
    return [(f"eval.metrics[{i}]", s) for i, s in enumerate(config.eval.metrics)]
  defaults = contracts.hook(data, "dataset", "default_evaluators")
  return [(f"eval.metrics (default of data {config.data.name!r})",
           _spec(e, "eval.metrics")) for e in defaults]


def _evaluate(evaluator, samples, labels):
  """evaluator.evaluate, given the intended labels when it takes them."""
  if labels is not None and "labels" in inspect.signature(evaluator.evaluate).parameters:
    return evaluator.evaluate(samples, labels=labels)
  return evaluator.evaluate(samples)


class Evaluation:
  """The evaluators of one run, built (and their arguments checked) up front."""

  def __init__(self, config, data):
    self.config = config
    self.num_classes = data.spec.num_classes  # a conditional G takes labels
    self.evaluators = []
    for field, spec in specs(config, data):
      cls = registry.EVALUATORS.get(spec.name, f"{field}.name")
      obj = construct(field, spec.name, cls, (data,), dict(spec.kwargs), skip=("data",))
      contracts.check(field, spec.name, obj, "evaluator")
      self.evaluators.append((spec.name, obj))
    self._best = None

  def __call__(self, generator, truncation=None):
    """{metric: float} of every evaluator on `eval.num_samples` samples of G
    (of noise truncated at `truncation`, when given: tools/eval.py)."""
    if not self.evaluators:
      return {}
    num, classes = self.config.eval.num_samples, self.num_classes
    labels = sampling.class_labels(num, classes) if classes else None  # conditional G
    samples = sampling.sample(self.config, generator, num,
                             self.config.seed + _SAMPLE_SEED_OFFSET, labels, truncation)
    metrics = {}
    for name, evaluator in self.evaluators:
      for key, value in _evaluate(evaluator, samples, labels).items():
        if key in metrics:  # two evaluators with one key: keep both, say whose
          key = f"{name}/{key}"
        metrics[key] = float(value)
    return metrics

  def keep_best(self, checkpoint, workdir):
    """From now on, `report` also keeps the best checkpoint (when `eval.best`)."""
    if self.config.eval.best is not None:
      self._best = BestCheckpoint(checkpoint, workdir, self.config.eval.best)

  def report(self, generator, writer, workdir, step):
    """Evaluates, appends to metrics.jsonl, writes `eval/*` scalars; returns the record."""
    metrics = self(generator)
    record = reporting.append_metrics(workdir, step, metrics)
    reporting.write_scalars(writer, step, metrics, "eval")
    logging.info("eval at step %d: %s", step, record)
    if self._best is not None:
      self._best.update(step, metrics)
    return record
