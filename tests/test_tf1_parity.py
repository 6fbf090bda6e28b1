"""`train.backend: tf1_graph` at parity with tf2: learning-rate schedules, the
non-finite guard, every shipped config, TF1 network functions (issue 31)."""
import numpy as np
import pytest

from tfgan1 import config as config_lib
from tfgan1.backends.tf1_graph import run as tf1_run
from tfgan1.backends.tf2 import Run
from tfgan1.runner import checkpoints

STEPS = 6


def _ring(*overrides):
  raw = {"generator": {"name": "mlp", "hidden": [16], "norm": "batch_norm"},
         "discriminator": {"name": "mlp", "hidden": [16]},
         "loss": "hinge", "data": "ring8", "noise": {"dim": 4},
         "optimizer": {"name": "sgd", "learning_rate": 0.05},
         "train": {"batch_size": 16, "one_step_form": "classic"}}
  return config_lib.from_dict(raw, overrides)


def _rates(metrics):
  return {k: float(v) for k, v in metrics.items() if k.startswith("lr")}


def _g_weights(run):
  if hasattr(run.trainer, "pull"):  # tf1_graph: the session holds the newer copy
    run.trainer.pull()
  return [v.numpy() for v in run.trainer.gan.generator.trainable_variables]


# Warmup then decay, both ending inside the 6 steps; TTUR's D and G schedules differ.
_WARM = "{schedule: linear, value: 0.1, decay_steps: 3, warmup_steps: 2, end_value: 0.01}"
_STEP = "{schedule: step, value: 0.1, boundaries: [2, 4], factor: 0.5}"


@pytest.mark.parametrize("overrides", [
    ("train.rule=one_step", f"optimizer.learning_rate={_WARM}"),
    ("train.rule=alternating", "train.n_d=2", f"d_optimizer={{learning_rate: {_WARM}}}",
     f"g_optimizer={{learning_rate: {_STEP}}}"),
], ids=["one_step_joint", "alternating_nd2_ttur"])
def test_schedules_equal_tf2_per_step_and_across_a_resume(plugins_loaded, tmp_path, overrides):
  """The rate of every step (the metric and what moved the weights: SGD) equals
  TF2's, also in a tf1_graph run resumed from a step-3 checkpoint."""
  config = _ring(*overrides)
  tf2, tf1 = Run(config), tf1_run.Run(config)
  want, got = [], []
  for step in range(1, STEPS + 1):
    want.append(_rates(tf2.trainer.train_step(tf2.iterator, tf2.rng)))
    got.append(_rates(tf1.trainer.train_step(tf1.iterator, tf1.rng)))
    if step == 3:
      checkpoints.manager(tf1.checkpoint, str(tmp_path), 2).save(checkpoint_number=3)
  assert len({tuple(r.values()) for r in want}) >= 4, f"the schedule must move: {want}"
  assert got == want  # exact: the same Keras schedule read at the same count
  for a, b in zip(_g_weights(tf1), _g_weights(tf2)):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
  resumed = tf1_run.Run(config)
  checkpoints.restore(resumed.checkpoint, checkpoints.latest(str(tmp_path)))
  again = [_rates(resumed.trainer.train_step(resumed.iterator, resumed.rng))
           for _ in range(3, STEPS)]
  assert again == want[3:]
