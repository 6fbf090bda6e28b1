"""tf.distribute runs against the one-device run, end to end through the CLI.

`mirrored` runs on the CPU split into 2 logical devices (the split must happen
before TensorFlow sets up its devices, hence a subprocess). `multi_worker` runs as
2 processes on localhost ports with TF_CONFIG. Each must leave the weights, the
optimizer state and the EMA of the one-device run on the same global batch.
"""
import json
import os
import shutil
import socket
import subprocess
import sys

import numpy as np
import pytest

from tfgan1.evaluation import sampling
from tfgan1 import config as config_lib
from tfgan1.runner import reload as restore
from tfgan1.errors import UserError
from tests.conftest import ROOT

# A tiny one-step run: SGD, G with BatchNorm (synchronised under a strategy), an R1
# penalty on D (penalties must be averaged like the loss) and an EMA of G.
TINY = """
seed: 0
data: {name: ring8}
generator: {name: mlp, hidden: [16, 16], norm: batch_norm}
discriminator: {name: mlp, hidden: [16, 16]}
loss: {name: hinge}
penalties: [{name: r1, weight: 0.5}]
noise: {dim: 2}
optimizer: {name: sgd, learning_rate: 0.1}
ema: {decay: 0.9}
train: {steps: 3, batch_size: 8, log_every: 1, sample_every: 100, checkpoint_every: 1,
        keep_checkpoints: 5}
eval: {num_samples: 100}
"""
TWO_CPUS = ("import sys, tensorflow as tf; "
            "cpu = tf.config.list_physical_devices('CPU')[0]; "
            "tf.config.set_logical_device_configuration("
            "cpu, [tf.config.LogicalDeviceConfiguration()] * 2); "
            "from tfgan1 import run; sys.argv[0] = 'tfgan1.run'; run.entry()")
MIRRORED = ["--set", "distribute.strategy=mirrored", "--set",
            "distribute.devices=[/cpu:0, /cpu:1]", "--set", "distribute.sync_batch_norm=true"]


def _weights(workdir, step):
  """Every saved variable of checkpoint `step` (networks, optimizer, EMA, step)."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  reader = tf.train.load_checkpoint(str(workdir / "checkpoints" / f"ckpt-{step}"))
  return {k: reader.get_tensor(k) for k in reader.get_variable_to_shape_map()
          if k.endswith("VARIABLE_VALUE") and not k.startswith("save_counter")}  # saves
  # made, not training state: checkpoint_every differs between the runs compared


def _assert_same(workdir, reference, step):
  got, want = _weights(workdir, step), _weights(reference, step)
  assert got.keys() == want.keys()
  for key, value in want.items():
    np.testing.assert_allclose(got[key], value, rtol=0, atol=1e-6, err_msg=key)


def _run_two_cpus(*args):
  out = subprocess.run([sys.executable, "-c", TWO_CPUS, *map(str, args)], cwd=ROOT,
                       capture_output=True, text=True, timeout=600, check=False)
  assert out.returncode == 0, out.stderr[-3000:]
  return out


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
  path = tmp_path_factory.mktemp("cfg") / "tiny.yaml"
  path.write_text(TINY)
  return path


def _train_here(config_path, workdir, steps):
  """A one-device run in this process (saves a TensorFlow import per run)."""
  from tfgan1.runner import train  # pylint: disable=g-import-not-at-top
  train.train_and_evaluate(config_lib.load(str(config_path), [f"train.steps={steps}"]),
                           str(workdir))


@pytest.fixture(scope="module")
def reference(tiny, tmp_path_factory, plugins_loaded):
  """The one-device run, 4 steps, a checkpoint after each."""
  del plugins_loaded
  workdir = tmp_path_factory.mktemp("ref") / "run"
  _train_here(tiny, workdir, 4)
  return workdir


def test_mirrored_matches_one_device_and_resumes_across(tiny, reference, tmp_path):
  """one device (step 1) -> mirrored over 2 CPUs (steps 2, 3) -> one device (step 4).

  The mirrored part runs steps 2 and 3 in one call (train.steps_per_call), the
  strategy's all-reduces inside the chunk's while loop."""
  workdir = tmp_path / "run"
  (workdir / "checkpoints").mkdir(parents=True)
  for f in (reference / "checkpoints").glob("ckpt-1.*"):
    shutil.copy(f, workdir / "checkpoints")
  (workdir / "checkpoints" / "checkpoint").write_text('model_checkpoint_path: "ckpt-1"\n')
  out = _run_two_cpus("--config", tiny, "--workdir", workdir, *MIRRORED,
                      "--set", "train.steps_per_call=4", "--set", "train.log_every=3",
                      "--set", "train.checkpoint_every=3")
  assert "resuming from" in out.stderr and "strategy mirrored: 2 replicas on 1 worker | batch 8 global, 4 per replica" in out.stderr
  _assert_same(workdir, reference, 3)  # same data position and noise after the switch
  records = [json.loads(l) for l in (workdir / "metrics.jsonl").read_text().splitlines()]
  assert records[-1]["step"] == 3 and 0 <= records[-1]["modes"] <= 8
  assert (workdir / "samples" / "samples_00000003.png").stat().st_size > 0
  config, _, generator = restore.load_sampler(str(workdir))  # as sample.py and export.py
  assert sampling.sample(config, generator, 10, 0).shape == (10, 2)
  _train_here(tiny, workdir, 4)
  _assert_same(workdir, reference, 4)


def _free_ports(count):
  socks = [socket.socket() for _ in range(count)]
  for s in socks:
    s.bind(("localhost", 0))
  ports = [s.getsockname()[1] for s in socks]
  for s in socks:
    s.close()
  return ports


def test_multi_worker_matches_one_device(tiny, reference, tmp_path):
  workdir = tmp_path / "run"
  cluster = {"worker": [f"localhost:{p}" for p in _free_ports(2)]}
  workers = []
  for index in range(2):
    env = dict(os.environ, TMPDIR=str(tmp_path), TF_CONFIG=json.dumps(
        {"cluster": cluster, "task": {"type": "worker", "index": index}}))
    workers.append(subprocess.Popen(
        [sys.executable, "-m", "tfgan1.run", "--config", str(tiny), "--workdir", str(workdir),
         "--set", "distribute.strategy=multi_worker", "--set", "distribute.sync_batch_norm=true"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
  errs = []
  for worker in workers:
    _, err = worker.communicate(timeout=600)
    assert worker.returncode == 0, err[-3000:]
    errs.append(err)
  _assert_same(workdir, reference, 3)
  assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # worker 1's files went away
  # Only the chief writes the shared files; worker 1 neither evaluates nor summarises.
  names = sorted(p.name for p in workdir.iterdir())
  assert [n for n in names if not n.startswith("events.out.tfevents.")] == [
      "checkpoints", "config.yaml", "metrics.jsonl", "samples", "train.log"]
  assert len(names) == 6 and (workdir / "metrics.jsonl").read_text().count("\n") == 1
  banner = "strategy multi_worker: 2 replicas on 2 workers (this is worker {}) | batch 8 global, 4 per replica"
  assert banner.format(0) in errs[0] and banner.format(1) in errs[1]
  assert "done: step 3 in" in errs[0] and "done: step" not in errs[1]
  assert errs[1].strip().splitlines()[-1] == ("done: finished as worker 1 at step 3; the chief "
                                              "writes the results")


def test_config_errors(monkeypatch):
  from tfgan1.engine import distribute  # pylint: disable=g-import-not-at-top
  base = {"data": "ring8", "generator": "mlp", "discriminator": "mlp", "loss": "hinge"}
  config = config_lib.from_dict(dict(base), ["distribute.devices=[/cpu:0]"])
  with pytest.raises(UserError, match=r"^distribute.devices: \['/cpu:0'\] is not allowed"):
    distribute.make(config)
  config = config_lib.from_dict(dict(base), ["distribute.strategy=multi_worker"])
  monkeypatch.delenv("TF_CONFIG", raising=False)
  with pytest.raises(UserError, match="^distribute.strategy: 'multi_worker' needs the TF_CONFIG"):
    distribute.make(config)
  monkeypatch.setenv("TF_CONFIG", '{"cluster": {}}')
  with pytest.raises(UserError, match="^TF_CONFIG: .* is not allowed; expected JSON with"):
    distribute.make(config)
  assert distribute.make(config_lib.from_dict(dict(base))) is None
  with pytest.raises(UserError, match=r"^train.batch_size: 7 is not allowed; .* 2 replicas"):
    distribute.check_batch(7, 2, "mirrored")


@pytest.mark.parametrize("text, who", [
    ("Error reported from /job:worker/task:1: The following tasks are unhealthy (stopped "
     "sending heartbeats):\n/job:worker/replica:0/task:1\nThe tasks have crashed.", "worker 1"),
    ("Unexpected heartbeat request from an already-in-error task: /job:worker/replica:0/task:0 "
     "with existing error: UNAVAILABLE: Task /job:worker/replica:0/task:1 heartbeat timeout.",
     "worker 1"),
    ("Failed to send RPC to coordination service. Either the leader task was preempted\n"
     "Additional GRPC error information from remote target /job:chief/replica:0/task:0 while",
     "chief 0"),
    ("Collective ops is aborted by: recvmsg:Connection reset by peer\nAdditional GRPC error "
     "information from remote target /job:worker/replica:0/task:1 while calling "
     "/tensorflow.WorkerService/RecvBuf:", "worker 1")])
def test_a_lost_peer_is_one_line_naming_it(text, who, tmp_path, monkeypatch):
  """TF's three ways of saying a peer is gone (TF 2.21) -> the worker, its address, the
  last checkpoint; any other TF error stays as it is."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from tfgan1.runner import cluster  # pylint: disable=g-import-not-at-top
  monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {
      "chief": ["host0:1"], "worker": ["host1:2", "host2:3"]}, "task": {"type": "worker", "index": 0}}))
  (tmp_path / "checkpoints").mkdir()
  for step in (20, 40):
    (tmp_path / "checkpoints" / f"ckpt-{step}.index").write_text("")
  err = cluster.peer_lost(tf.errors.UnavailableError(None, None, text), str(tmp_path))
  address = {"worker 1": "host2:3", "chief 0": "host0:1"}[who]
  assert str(err) == (f"{who} ({address}) is unreachable; the last checkpoint is step 40; "
                      "restart all workers to resume")
  assert cluster.peer_lost(tf.errors.InternalError(None, None, "other"), str(tmp_path)) is None
  own = "remote target /job:worker/replica:0/task:0 while"  # this worker: not a lost peer
  assert cluster.peer_lost(tf.errors.UnavailableError(None, None, own), str(tmp_path)) is None
