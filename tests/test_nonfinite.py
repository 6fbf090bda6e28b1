"""train.on_nonfinite: a bad step changes nothing, and the run stops (or skips)."""
import re

import numpy as np
import pytest

from tfgan1 import registry

from tfgan1.engine import assembly as build
from tfgan1 import config as config_lib
from tfgan1.errors import NonFiniteStop
from tests.conftest import ROOT, run_cli

tf = build.tf

TINY = {"generator": {"name": "mlp", "hidden": [16, 16], "norm": "batch_norm"},
        "discriminator": {"name": "mlp", "hidden": [16, 16]},
        "loss": "test_nan_hinge", "data": "ring8", "noise": {"dim": 4},
        "ema": {"decay": 0.9},
        "train": {"batch_size": 16, "log_every": 1}}


@registry.LOSSES.register("test_nan_hinge")
class NanHinge:
  """Hinge whose D loss is NaN while `bad` is on."""

  def __init__(self):
    self.bad = tf.Variable(0.0, trainable=False)

  def discriminator_loss(self, real_logits, fake_logits):
    loss = tf.reduce_mean(tf.nn.relu(1.0 - real_logits) + tf.nn.relu(1.0 + fake_logits))
    return loss + tf.where(self.bad > 0, float("nan"), 0.0)

  def generator_loss(self, fake_logits, real_logits):
    return -tf.reduce_mean(fake_logits)


def _run(overrides):
  from tfgan1.backends.tf2 import Run
  return Run(config_lib.from_dict(dict(TINY), overrides))


def _state(run):
  t = run.trainer
  return ([v.numpy() for m in (t.gan.generator, t.gan.discriminator, t.ema.model)
           for v in m.variables]
          + [v.numpy() for o in t.optimizers.values() for v in o.variables])


def _step(run):
  metrics = run.trainer.train_step(run.iterator, run.rng)
  return {k: float(v) for k, v in metrics.items()}


@pytest.mark.parametrize("rule,jit", [("one_step", "false"), ("alternating", "true")])
def test_stop_names_the_first_bad_step_and_changes_nothing(plugins_loaded, rule, jit):
  run = _run([f"train.rule={rule}", f"train.jit_compile={jit}"])
  _step(run)
  _step(run)
  run.trainer.guard.check()  # good steps: nothing to report
  before = _state(run)
  run.trainer.gan.family.bad.assign(1.0)
  metrics = _step(run)
  assert np.isnan(metrics["loss_d"]) and metrics["skipped_steps"] == 1
  for x, y in zip(before, _state(run)):
    np.testing.assert_array_equal(x, y)
  run.trainer.gan.family.bad.assign(0.0)
  _step(run)  # a later good step does not erase the record
  with pytest.raises(NonFiniteStop, match=r"^loss_d is nan at step 3$"):
    run.trainer.guard.check()


def test_skip_counts_and_stops_after_too_many_in_a_row(plugins_loaded):
  run = _run(["train.on_nonfinite=skip", "train.max_skipped_steps=2"])
  family, guard = run.trainer.gan.family, run.trainer.guard
  family.bad.assign(1.0)
  assert [_step(run)["skipped_steps"] for _ in range(2)] == [1, 2]
  guard.check()  # two in a row are allowed
  family.bad.assign(0.0)
  assert _step(run)["skipped_steps"] == 2  # a good step ends the streak
  family.bad.assign(1.0)
  for _ in range(3):
    _step(run)
  with pytest.raises(NonFiniteStop, match=r"^loss_d is nan at step 6 \(more than 2 "):
    guard.check()
  assert int(guard.monitor.skipped.numpy()) == 5


def test_huge_learning_rate_exits_1_with_one_line(tmp_path):
  out = run_cli("--config", ROOT / "configs" / "ring8.yaml", "--workdir", tmp_path / "w",
                "--set", "optimizer.learning_rate=1e30", "--set", "generator.hidden=[16]",
                "--set", "discriminator.hidden=[16]", "--set", "train.batch_size=16",
                "--set", "train.steps=30", "--set", "train.log_every=10")
  assert out.returncode == 1, out.stderr[-2000:]
  last = out.stderr.strip().splitlines()[-1]
  assert re.fullmatch(r"error: (loss_d|loss_g|d_real|d_fake|grad_norm_[dg]) is "
                      r"(nan|inf|-inf) at step [1-9]\d*", last), last
  assert not (tmp_path / "w" / "metrics.jsonl").exists()  # no final eval of a bad run


def test_no_retrace_over_50_steps(plugins_loaded, tmp_path, monkeypatch):
  """Logging, sampling, checkpoint and eval steps all reuse the first trace."""
  from tfgan1 import backends
  from tfgan1.runner import train
  runs = []
  make = backends.make
  monkeypatch.setattr(backends, "make", lambda *a: runs.append(make(*a)) or runs[-1])
  cfg = config_lib.from_dict(dict(TINY), [
      "loss.name=hinge", "train.steps=50", "train.log_every=7", "train.sample_every=20",
      "train.checkpoint_every=25", "eval.every=30", "eval.num_samples=100"])
  train.train_and_evaluate(cfg, str(tmp_path))
  trainer = runs[0].trainer
  assert int(trainer.step.numpy()) == 50
  assert (tmp_path / "checkpoints" / "ckpt-25.index").exists()
  assert trainer.train_step.experimental_get_tracing_count() == 1
  assert trainer._update.experimental_get_tracing_count() == 1  # pylint: disable=protected-access
