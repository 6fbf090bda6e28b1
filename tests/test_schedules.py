"""Learning-rate schedules: values by hand, one-line config errors, TensorBoard, resume."""
import math

import numpy as np
import pytest

from tests.test_cli_run import _read_events
from tfgan1.backends.tf2 import Run
from tfgan1 import config as config_lib
from tfgan1.config import schedules
from tfgan1.engine import schedules as keras_schedules
from tfgan1.runner import train
from tfgan1.errors import UserError

BASE = {"generator": {"name": "mlp", "hidden": [8]},
        "discriminator": {"name": "mlp", "hidden": [8]},
        "loss": "hinge", "data": "ring8",
        "train": {"batch_size": 8, "log_every": 1, "sample_every": 1000,
                  "checkpoint_every": 3},
        "eval": {"num_samples": 10}}


def _lr(spec, steps):
  fn = keras_schedules.make(schedules.parse(spec, "lr"))
  return np.array([float(fn(s)) for s in steps])


@pytest.mark.parametrize("spec, want", [
    ({"schedule": "constant", "value": 1.0, "warmup_steps": 4},
     [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]),
    ({"schedule": "linear", "value": 1.0, "decay_steps": 4},
     [1.0, 0.75, 0.5, 0.25, 0.0, 0.0]),
    ({"schedule": "linear", "value": 1.0, "decay_steps": 2, "warmup_steps": 2, "end_value": 0.5},
     [0.5, 1.0, 1.0, 0.75, 0.5, 0.5]),
    ({"schedule": "cosine", "value": 1.0, "decay_steps": 4, "alpha": 0.2},
     [0.2 + 0.8 * 0.5 * (1 + math.cos(math.pi * s / 4)) for s in (0, 1, 2, 3, 4, 4)]),
    ({"schedule": "exponential", "value": 1.0, "decay_steps": 2, "decay_rate": 0.5},
     [0.5 ** (s / 2) for s in range(6)]),
    ({"schedule": "exponential", "value": 1.0, "decay_steps": 2, "decay_rate": 0.5,
      "staircase": True}, [1, 1, 0.5, 0.5, 0.25, 0.25]),
    ({"schedule": "step", "value": 1.0, "boundaries": [1, 3], "factor": 0.5},
     [1, 1, 0.5, 0.5, 0.25, 0.25]),
])
def test_schedule_values(spec, want):
  np.testing.assert_allclose(_lr(spec, range(6)), want, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("lr, message", [
    ({"schedule": "cosin", "value": 1e-3}, "optimizer.learning_rate.schedule: 'cosin'"),
    ({"schedule": "cosine", "value": 1e-3}, "optimizer.learning_rate.decay_steps: missing"),
    ({"schedule": "linear", "value": 1e-3, "decay_steps": 5, "decay_rate": 2},
     "optimizer.learning_rate.decay_rate: unknown key"),
    ({"schedule": "step", "value": 1e-3, "boundaries": [5, 2]},
     "optimizer.learning_rate.boundaries: [5, 2]"),
    ({"schedule": "constant", "value": -1.0}, "optimizer.learning_rate.value: -1.0"),
    ({"schedule": "constant"}, "optimizer.learning_rate.value: missing"),
    ({"schedule": "cosine", "value": 1e-3, "decay_steps": 1.5},
     "optimizer.learning_rate.decay_steps: 1.5"),
    ("fast", "optimizer.learning_rate: 'fast'"),
    (0.0, "optimizer.learning_rate: 0.0"),
])
def test_bad_schedule_is_one_line(lr, message):
  with pytest.raises(UserError) as e:
    config_lib.from_dict({**BASE, "optimizer": {"learning_rate": lr}})
  assert str(e.value).startswith(message) and "\n" not in str(e.value)


def test_per_network_schedule_error_names_its_key():
  with pytest.raises(UserError, match=r"^g_optimizer.learning_rate.schedule: 'x'"):
    config_lib.from_dict({**BASE, "g_optimizer": {"learning_rate": {"schedule": "x"}}})


def test_config_yaml_round_trip(tmp_path):
  lr = {"schedule": "cosine", "value": 1e-3, "decay_steps": 10}
  cfg = config_lib.from_dict({**BASE, "optimizer": {"learning_rate": lr}})
  assert dict(cfg.optimizer.learning_rate) == {
      "schedule": "cosine", "value": 1e-3, "warmup_steps": 0, "decay_steps": 10,
      "alpha": 0.0}
  from tfgan1.config import yamlio  # pylint: disable=g-import-not-at-top
  path = tmp_path / "c.yaml"
  path.write_text(yamlio.dump(config_lib.to_dict(cfg)))
  assert config_lib.load(str(path)) == cfg


def _run(workdir, steps, raw):
  cfg = config_lib.from_dict(raw, [f"train.steps={steps}"])
  train.train_and_evaluate(cfg, str(workdir))


def test_rates_reach_tensorboard_and_resume_continues(plugins_loaded, tmp_path):
  """TTUR: lr_d and lr_g follow their own schedules at the logged steps, and a
  run stopped at step 3 and resumed to 6 logs what an unbroken run logs."""
  raw = {**BASE, "d_optimizer": {"learning_rate": {
      "schedule": "linear", "value": 1e-3, "decay_steps": 5}},
         "g_optimizer": {"learning_rate": {
             "schedule": "step", "value": 1e-3, "boundaries": [2], "factor": 0.1,
             "warmup_steps": 1}}}
  _run(tmp_path / "a", 3, raw)
  _run(tmp_path / "a", 6, raw)
  scalars, _ = _read_events(tmp_path / "a")
  # Step k (1-based, as logged) trains at optimizer iteration k - 1.
  want_d = [1e-3 * (1 - i / 5) for i in range(6)]
  want_g = [1e-3, 1e-3, 1e-3, 1e-3, 1e-4, 1e-4]  # boundaries count after warmup
  assert [s for s, _ in scalars["lr/d"]] == list(range(1, 7))
  np.testing.assert_allclose([v for _, v in scalars["lr/d"]], want_d, rtol=1e-6)
  np.testing.assert_allclose([v for _, v in scalars["lr/g"]], want_g, rtol=1e-6)
  assert "lr/shared" not in scalars


def test_alternating_schedules_count_training_steps(plugins_loaded, tmp_path):
  """With n_d 3, D updates 3 times a step, yet its decay ends at training step
  `decay_steps`, as G's does: both rates follow the same steps in TensorBoard."""
  lr = {"schedule": "linear", "value": 1e-3, "decay_steps": 4}
  raw = {**BASE, "optimizer": {"learning_rate": lr},
         "train": {**BASE["train"], "rule": "alternating", "n_d": 3}}
  _run(tmp_path / "a", 5, raw)
  scalars, _ = _read_events(tmp_path / "a")
  want = [1e-3 * max(0.0, 1 - i / 4) for i in range(5)]  # step k trains at k - 1
  np.testing.assert_allclose([v for _, v in scalars["lr/d"]], want, rtol=1e-6, atol=1e-12)
  np.testing.assert_allclose([v for _, v in scalars["lr/g"]], want, rtol=1e-6, atol=1e-12)
  run = Run(config_lib.from_dict(raw))
  run.trainer.train_step(run.iterator, run.rng)
  assert int(run.trainer.optimizers["d"].iterations.numpy()) == 3
  assert int(run.trainer.optimizers["g"].iterations.numpy()) == 1
  assert float(run.trainer.optimizers["d"].learning_rate) == pytest.approx(0.75e-3)


def test_shared_optimizer_reports_lr(plugins_loaded):
  cfg = config_lib.from_dict({**BASE, "optimizer": {"learning_rate": {
      "schedule": "exponential", "value": 1.0, "decay_steps": 1, "decay_rate": 0.5}}})
  run = Run(cfg)
  got = [float(run.trainer.train_step(run.iterator, run.rng)["lr"]) for _ in range(3)]
  assert got == [1.0, 0.5, 0.25]
  assert set(run.trainer.optimizers) == {"joint"}
