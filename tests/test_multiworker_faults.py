"""Two localhost workers (`multi_worker`, TF_CONFIG): a dead worker and a preempted one.

Slow (each launch starts two TensorFlow processes): marked `multiworker`, so
`-m "not multiworker"` leaves them out; the default run includes them.
"""
import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tfgan1 import config as config_lib
from tests.conftest import ROOT
from tests.test_distribute import TINY, _free_ports, _weights

pytestmark = pytest.mark.multiworker
FOREVER = ["--set", "train.steps=100000", "--set", "train.steps_per_call=10",
           "--set", "train.log_every=10", "--set", "train.checkpoint_every=10",
           "--set", "distribute.peer_timeout_s=30"]


@pytest.fixture(name="tiny")
def _tiny(tmp_path):
  path = tmp_path / "tiny.yaml"
  path.write_text(TINY)
  return path


def _launch(tiny, workdir, tmp, *args):
  """Worker 0 and worker 1 of a localhost cluster, stderr to files in `tmp`."""
  cluster = {"worker": [f"localhost:{p}" for p in _free_ports(2)]}
  workers = []
  for index in range(2):
    env = dict(os.environ, TMPDIR=str(tmp), TF_CONFIG=json.dumps(
        {"cluster": cluster, "task": {"type": "worker", "index": index}}))
    log = open(tmp.parent / f"worker{index}.log", "w", encoding="utf-8")  # pylint: disable=consider-using-with
    workers.append(subprocess.Popen(
        [sys.executable, "-m", "tfgan1.run", "--config", str(tiny), "--workdir", str(workdir),
         "--set", "distribute.strategy=multi_worker", *args],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
  return cluster["worker"], workers


def _stop_all(workers):
  for worker in workers:
    if worker.poll() is None:
      worker.kill()
      worker.wait()


def _wait_for_checkpoint(workdir, step, workers, limit=900):
  """Waits until the workdir holds a checkpoint at `step` or later."""
  folder = workdir / "checkpoints"
  start = time.monotonic()
  while time.monotonic() - start < limit:
    steps = [int(m.group(1)) for m in map(re.compile(r"ckpt-(\d+)\.index$").match,
                                          os.listdir(folder) if folder.is_dir() else []) if m]
    if steps and max(steps) >= step:
      return
    assert all(w.poll() is None for w in workers), "a worker ended early"
    time.sleep(0.2)
  raise AssertionError(f"no checkpoint at step {step} after {limit} s")


def _last_line(tmp, index):
  return (tmp.parent / f"worker{index}.log").read_text().strip().splitlines()[-1]


def test_a_dead_worker_stops_the_other_within_90_s(tiny, tmp_path):
  workdir, tmp = tmp_path / "run", tmp_path / "tmp"
  tmp.mkdir()
  addresses, workers = _launch(tiny, workdir, tmp, *FOREVER)
  try:
    _wait_for_checkpoint(workdir, 20, workers)
    workers[1].send_signal(signal.SIGKILL)
    killed = time.monotonic()
    assert workers[0].wait(timeout=90) == 75
    assert time.monotonic() - killed < 90
  finally:
    _stop_all(workers)
  newest = max(int(p.stem.split("-")[1]) for p in (workdir / "checkpoints").glob("ckpt-*.index"))
  assert _last_line(tmp, 0) == (f"error: worker 1 ({addresses[1]}) is unreachable; the last "
                                f"checkpoint is step {newest}; restart all workers to resume")
  log = (tmp.parent / "worker0.log").read_text()
  assert "Traceback" not in log and log.count("error: worker 1") == 1


def _train_here(tiny, workdir, steps):
  from tfgan1.runner import train  # pylint: disable=g-import-not-at-top
  return train.train_and_evaluate(
      config_lib.load(str(tiny), [f"train.steps={steps}", "train.checkpoint_every=10",
                                  "train.steps_per_call=10", "train.log_every=10"]),
      str(workdir), allow_config_change=True)


def test_sigterm_on_one_worker_saves_all_at_one_step_and_resumes_anywhere(
    tiny, tmp_path, plugins_loaded):
  """One device (10 steps) -> 2 workers until SIGTERM on worker 1 (step N) -> one
  device to N + 10: the weights of the uninterrupted one-device run at N and N + 10."""
  del plugins_loaded
  workdir, tmp = tmp_path / "run", tmp_path / "tmp"
  tmp.mkdir()
  _train_here(tiny, workdir, 10)
  before = set(os.listdir(workdir))
  _, workers = _launch(tiny, workdir, tmp, *FOREVER, "--set", "distribute.sync_batch_norm=true")
  try:
    _wait_for_checkpoint(workdir, 30, workers)
    workers[1].send_signal(signal.SIGTERM)
    codes = [w.wait(timeout=90) for w in workers]
  finally:
    _stop_all(workers)
  assert codes == [75, 75]
  lines = [_last_line(tmp, i) for i in range(2)]
  step = int(re.search(r"saved a checkpoint at step (\d+);", lines[0]).group(1))
  assert lines == [f"error: preempted: {who} received SIGTERM; every worker saved a checkpoint "
                   f"at step {step}; restart all workers to resume"
                   for who in ("another worker", "this worker")]
  assert sorted(os.listdir(tmp)) == []  # worker 1's checkpoints went with it
  added = set(os.listdir(workdir)) - before  # the chief's events file, nothing of worker 1
  assert len(added) == 1 and added.pop().startswith("events.out.tfevents."), added
  assert (workdir / "checkpoints" / f"ckpt-{step}.index").exists()
  record = _train_here(tiny, workdir, step + 10)  # multi_worker -> one device
  assert record["step"] == step + 10
  reference = tmp_path / "reference"
  _train_here(tiny, reference, step + 10)
  for at in (step, step + 10):
    got, want = _weights(workdir, at), _weights(reference, at)
    assert got.keys() == want.keys()
    for key, value in want.items():  # float rounding of the all-reduce, over N steps
      np.testing.assert_allclose(got[key], value, rtol=0, atol=1e-5, err_msg=f"{at} {key}")
