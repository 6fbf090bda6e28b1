"""`train.backend: tf1_graph` at parity with tf2: learning-rate schedules, the
non-finite guard, every shipped config (issue 31)."""
import re

import numpy as np
import pytest

from tfgan1 import config as config_lib
from tfgan1.backends.tf1_graph import run as tf1_run
from tfgan1.backends.tf2 import Run
from tfgan1.errors import NonFiniteStop
from tfgan1.engine import assembly as build
from tfgan1.errors import UserError
from tfgan1.runner import checkpoints
from tests.conftest import ROOT

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
  TF2's; with alternating also in a tf1_graph run resumed from a step-3 checkpoint."""
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
  if config.train.rule != "alternating":
    return  # one resume (test budget): the case with two counters, n_d = 2
  resumed = tf1_run.Run(config)
  checkpoints.restore(resumed.checkpoint, checkpoints.latest(str(tmp_path)))
  again = [_rates(resumed.trainer.train_step(resumed.iterator, resumed.rng))
           for _ in range(3, STEPS)]
  assert again == want[3:]


@pytest.mark.parametrize("rule", ["simultaneous", "alternating"])
def test_steps_drawn_in_blocks_equal_steps_drawn_one_by_one(plugins_loaded, rule):
  """train(19) draws 16 steps' data and noise in one host call, then 3, and
  fetches the last step's metrics only: the same variables and metrics as 19
  one-step calls."""
  config = _ring(f"train.rule={rule}", "train.n_d=2")
  blocks, single = tf1_run.Run(config), tf1_run.Run(config)
  got = blocks.train(19)
  for _ in range(19):
    want = single.train(1)
  assert got.keys() == want.keys() and {k: float(v) for k, v in got.items()} == {
      k: float(v) for k, v in want.items()}
  assert blocks.step() == single.step() == 19
  want_state = _state(single)
  for name, value in _state(blocks).items():
    np.testing.assert_array_equal(value, want_state[name], err_msg=name)


def test_a_signal_inside_a_block_stops_the_run_after_it(plugins_loaded):
  """Ctrl-C in the middle of a 16-step block is raised when the block is done, so
  the step counter, the data iterator and the noise RNG agree, and training on
  from there equals training straight."""
  import signal  # pylint: disable=import-outside-toplevel
  config = _ring("train.rule=simultaneous")
  stopped, straight = tf1_run.Run(config), tf1_run.Run(config)
  graph_run, calls = stopped.trainer.graph.run, []

  def interrupt_at_the_fifth(*args, **kwargs):
    calls.append(1)
    if len(calls) == 5:
      signal.raise_signal(signal.SIGINT)
    return graph_run(*args, **kwargs)
  stopped.trainer.graph.run = interrupt_at_the_fifth
  with pytest.raises(KeyboardInterrupt):
    stopped.train(20)
  assert len(calls) == 16 and stopped.step() == 16  # the block ran whole
  stopped.train(4)
  straight.train(20)
  want_state = _state(straight)
  for name, value in _state(stopped).items():
    np.testing.assert_array_equal(value, want_state[name], err_msg=name)


class _Poison:
  """Feeds NaN noise to the graph's step: all of it, or from noise `first` on
  (alternating: n_d D noises, then G's), while `on`."""

  def __init__(self, run, first=0):
    self.graph, self.first, self.on = run.trainer.graph, first, False
    self._run = self.graph.run
    self.graph.run = self

  def __call__(self, reals, zs, seed, fetch_metrics=True):
    if self.on:
      zs = [z * np.nan if i >= self.first else z for i, z in enumerate(zs)]
    return self._run(reals, zs, seed, fetch_metrics)


def _state(run):
  """Every graph variable a step may write (weights, slots, BatchNorm and EMA)."""
  g = run.trainer.graph
  return {v.name: x for v, x in zip(g.variables, g.values())
          if v.name not in (g.step.name, g.guard.skipped.name)}


def _step(run):
  metrics = run.trainer.train_step(run.iterator, run.rng)
  return {k: float(v) for k, v in metrics.items()}


@pytest.mark.parametrize("rule", ["one_step", "alternating"])
def test_stop_names_the_first_bad_step_and_changes_nothing(plugins_loaded, rule):
  """Adam, BatchNorm in G and an EMA: a NaN step writes none of their variables."""
  run = tf1_run.Run(_ring(f"train.rule={rule}", "train.n_d=2", "optimizer.name=adam",
                          "ema={decay: 0.9}"))
  poison = _Poison(run)
  _step(run)
  _step(run)
  run.check_finite()  # good steps: nothing to report
  before = _state(run)
  poison.on = True
  metrics = _step(run)
  assert np.isnan(metrics["loss_d"]) and metrics["skipped_steps"] == 1
  after = _state(run)
  assert after.keys() == before.keys() and len(before) > 20
  for name, value in before.items():
    np.testing.assert_array_equal(after[name], value, err_msg=name)
  poison.on = False
  assert _step(run)["skipped_steps"] == 1
  assert any(np.any(before[k] != v) for k, v in _state(run).items()), "a good step moves"
  with pytest.raises(NonFiniteStop, match=r"^loss_d is nan at step 3$"):
    run.check_finite()


def test_skip_counts_and_stops_after_too_many_in_a_row(plugins_loaded):
  """alternating, n_d=2, NaN in G's noise only: the D updates of the step are
  put back too, and the message names G's loss (the last part of the step)."""
  run = tf1_run.Run(_ring("train.rule=alternating", "train.n_d=2",
                          "train.on_nonfinite=skip", "train.max_skipped_steps=2"))
  poison = _Poison(run, first=2)
  poison.on = True
  run.trainer.push()  # the graph holds the run's initial weights (else at the first step)
  before = _state(run)
  assert [_step(run)["skipped_steps"] for _ in range(2)] == [1, 2]
  for name, value in _state(run).items():
    np.testing.assert_array_equal(value, before[name], err_msg=name)
  run.check_finite()  # two in a row are allowed
  poison.on = False
  assert _step(run)["skipped_steps"] == 2  # a good step ends the streak
  poison.on = True
  for _ in range(3):
    _step(run)
  with pytest.raises(NonFiniteStop, match=r"^loss_g is nan at step 6 \(more than 2 "):
    run.check_finite()
  run.trainer.pull()
  assert int(run.trainer.loss_scale.skipped.numpy()) == 5  # the checkpointed count


CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_every_shipped_config_runs_or_is_refused_as_declared(plugins_loaded, path):
  """By glob: 2 steps of each config under tf1_graph (networks shrunk). A refused
  key must be one the backend declares (`Supports.limits`, what --list_plugins
  shows); the config then runs with that key at its first allowed value."""
  from tfgan1.backends.tf1_graph import checks  # pylint: disable=import-outside-toplevel
  from tests.test_verify_configs import _small_overrides  # pylint: disable=import-outside-toplevel
  config = config_lib.load(str(path), ["train.backend=tf1_graph"])
  try:
    build.dataset(config)
  except UserError as e:
    pytest.skip(f"dataset cannot be built here: {e}")
  overrides = ["train.backend=tf1_graph", *_small_overrides(config)]
  limits = checks.SUPPORTS.limits()
  try:
    checks.check(config)
  except UserError as e:
    key = str(e).split(":", 1)[0]
    if "needs eager execution" in str(e):
      assert "plugins" in limits  # declared; no override makes the plugin graph-safe
      return
    assert key in limits and key not in ("optimizer", "plugins"), str(e)
    overrides.append(f"{key}={re.split(r'[ ,]', limits[key])[0]}")
  run = tf1_run.Run(config_lib.load(str(path), overrides))
  metrics = run.train(2)
  assert run.step() == 2
  assert np.isfinite(float(metrics["loss_d"])) and metrics["skipped_steps"] == 0


def test_held_signals_keep_their_handlers_and_order():
  """`interrupts.held` delivers each held signal once, to the handler installed
  before the block, and leaves that handler in place."""
  import signal  # pylint: disable=import-outside-toplevel
  from tfgan1.backends.tf1_graph import interrupts  # pylint: disable=import-outside-toplevel
  seen = []
  ours = lambda signum, frame: seen.append(signum)  # pylint: disable=unnecessary-lambda-assignment
  previous = signal.signal(signal.SIGTERM, ours)
  try:
    with interrupts.held():
      signal.raise_signal(signal.SIGTERM)
      signal.raise_signal(signal.SIGTERM)
      seen.append("block")
    assert seen == ["block", signal.SIGTERM]
    assert signal.getsignal(signal.SIGTERM) is ours  # put back after the block
  finally:
    signal.signal(signal.SIGTERM, previous)
