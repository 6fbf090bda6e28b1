"""`train.steps_per_call`: several steps per tf.function call, the same results."""
import json

import numpy as np
import pytest

from tfgan1 import config as config_lib
from tests.conftest import RING8, SMALL


def _run(overrides):
  from tfgan1.backends.tf2 import Run  # pylint: disable=import-outside-toplevel
  return Run(config_lib.load(RING8, SMALL + ["ema.decay=0.9"] + overrides))


def _state(run):
  """Both networks, the EMA copy and the optimizers' slots, as arrays."""
  t = run.trainer
  variables = (t.gan.generator.weights + t.gan.discriminator.weights
               + t.ema.model.weights
               + [v for opt in t.optimizers.values() for v in opt.variables])
  return [v.numpy() for v in variables]


@pytest.mark.parametrize("rule", ["one_step", "alternating"])
def test_chunks_equal_single_steps(plugins_loaded, rule):
  """7 steps as 7 calls, and as chunks of 3 and 4: the same weights, slots, EMA,
  step count and last metrics."""
  sets = [f"train.rule={rule}", "train.n_d=2"]
  single, chunked = _run(sets), _run(sets)
  for _ in range(7):
    want = single.trainer.train_step(single.iterator, single.rng)
  for count in (3, 4):
    got = chunked.trainer.train_steps(chunked.iterator, chunked.rng, count)
  assert int(chunked.trainer.step.numpy()) == 7
  for a, b in zip(_state(single), _state(chunked), strict=True):
    np.testing.assert_allclose(b, a, rtol=0, atol=1e-6)
  assert want.keys() == got.keys()
  for key in want:
    assert float(got[key]) == pytest.approx(float(want[key]), rel=1e-6, abs=1e-6), key


def _events(workdir):
  from tests.test_cli_run import _read_events  # pylint: disable=import-outside-toplevel
  return _read_events(workdir)


def _train(workdir, steps_per_call, monkeypatch=None):
  from tfgan1 import backends  # pylint: disable=import-outside-toplevel
  from tfgan1.runner import train  # pylint: disable=import-outside-toplevel
  runs = []
  if monkeypatch is not None:
    make = backends.make
    monkeypatch.setattr(backends, "make", lambda *a: runs.append(make(*a)) or runs[-1])
  config = config_lib.load(RING8, SMALL + [
      "train.steps=20", "train.log_every=6", "train.sample_every=10",
      "train.checkpoint_every=10", "eval.every=15", f"train.steps_per_call={steps_per_call}"])
  train.train_and_evaluate(config, str(workdir))
  return runs


def test_run_loop_stops_at_every_interval(plugins_loaded, tmp_path, monkeypatch):
  """Chunks end at each log (6, 12, 18), sample and checkpoint (10, 20) and eval
  (15) step; one trace serves chunks of every length; the run equals one step per
  call, checkpoint for checkpoint."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  runs = _train(tmp_path / "chunked", 8, monkeypatch)
  _train(tmp_path / "single", 1)
  trainer = runs[0].trainer
  assert trainer.train_steps.experimental_get_tracing_count() == 1
  scalars, images = _events(tmp_path / "chunked")
  assert [s for s, _ in scalars["loss/d"]] == [6, 12, 18, 20]
  assert [s for s, _ in scalars["eval/modes"]] == [15, 20]
  assert (tmp_path / "chunked" / "samples" / "samples_00000010.png").is_file()
  assert "samples" in images
  for step in (10, 20):
    got, want = (tf.train.load_checkpoint(str(tmp_path / w / "checkpoints" / f"ckpt-{step}"))
                 for w in ("chunked", "single"))
    keys = [k for k in want.get_variable_to_shape_map() if k.endswith("VARIABLE_VALUE")]
    assert sorted(keys) == sorted(k for k in got.get_variable_to_shape_map()
                                  if k.endswith("VARIABLE_VALUE"))
    for key in keys:
      np.testing.assert_allclose(got.get_tensor(key), want.get_tensor(key), rtol=0,
                                 atol=1e-6, err_msg=key)
  records = [json.loads(l) for l in
             (tmp_path / "chunked" / "metrics.jsonl").read_text().splitlines()]
  assert [r["step"] for r in records] == [15, 20]


def test_next_stop():
  from tfgan1.runner import train  # pylint: disable=import-outside-toplevel
  from tfgan1.output.dashboard import Profiler  # pylint: disable=import-outside-toplevel
  config = config_lib.load(RING8, ["train.steps=100", "train.log_every=30",
                                   "train.sample_every=45", "train.checkpoint_every=50",
                                   "eval.every=0", "train.histogram_every=0"])
  none = Profiler(None, "unused")
  stops, step = [], 0
  while step < 100:
    step = train._next_stop(config, step, none)  # pylint: disable=protected-access
    stops.append(step)
  assert stops == [30, 45, 50, 60, 90, 100]
  assert train._next_stop(config, 0, Profiler((5, 8), "unused")) == 5  # pylint: disable=protected-access
  assert train._next_stop(config, 5, Profiler((5, 8), "unused")) == 8  # pylint: disable=protected-access


def test_bad_value_is_one_line(cli_here, tmp_path):
  out = cli_here("--config", RING8, "--workdir", tmp_path / "w", "--set", "train.steps_per_call=0")
  assert out.returncode == 2
  assert out.stderr.strip().splitlines()[-1] == (
      "error: train.steps_per_call: 0 is not allowed; must be >= 1")
  assert not (tmp_path / "w").exists()
