"""Runs that cannot be lost: checkpoint fallback, no non-finite saves, the
workdir lock, a full disk, config changes on resume, finished runs.

All in-process on copies of one tiny finished run (checkpoints at steps 2, 4),
except the lock's release on process death, which needs a process to kill.
"""
import errno
import json
import logging
import os
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import ALLOW, ROOT, snapshot, train_tiny
from tfgan1.backends.tf2 import Run
from tfgan1.runner import checkpoints
from tfgan1.runner import workdir as workdir_lib
from tfgan1.errors import UserError


@pytest.fixture
def run_copy(finished_run, tmp_path):
  copy = tmp_path / "run"
  shutil.copytree(finished_run, copy)
  return copy


def _resumed_from(caplog):
  lines = [r.getMessage() for r in caplog.records if "resuming from" in r.getMessage()]
  assert len(lines) == 1, [r.getMessage() for r in caplog.records]
  return lines[0]


def _warnings(caplog):
  return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def _state(workdir):
  return (workdir / "checkpoints" / "checkpoint").read_text()


@pytest.mark.parametrize("content,why", [
    (b"", "it is empty"),
    (b"complete garbage\n", "not a checkpoint state file"),
    (b"\xff\xfe\x00binary", "cannot be read"),
    (b'model_checkpoint_path: "ckpt-99"\n', "'ckpt-99', whose files are gone"),
])
def test_bad_state_file_is_skipped(run_copy, caplog, content, why):
  (run_copy / "checkpoints" / "checkpoint").write_bytes(content)
  assert checkpoints.find_intact(str(run_copy)).endswith("ckpt-4")
  skipped = [w for w in _warnings(caplog) if "skipped the state file" in w]
  assert len(skipped) == 1 and why in skipped[0], _warnings(caplog)


def test_bad_state_file_run_resumes_and_repairs_it(run_copy, caplog):
  caplog.set_level(logging.INFO)
  (run_copy / "checkpoints" / "checkpoint").write_bytes(b"complete garbage\n")
  train_tiny(run_copy, ["train.steps=6"])
  assert _resumed_from(caplog).endswith("ckpt-4 at step 4")
  # The state file is whole again and rotation (keep 3) works on the old ones.
  assert 'model_checkpoint_path: "ckpt-6"' in _state(run_copy)
  assert checkpoints.state_problem(str(run_copy / "checkpoints")) is None
  assert [checkpoints.step_of(p) for p in checkpoints.candidates(
      str(run_copy / "checkpoints"))] == [6, 4, 2]


def _truncate(path):
  path.write_bytes(path.read_bytes()[:40])


def _flip(path):
  data = bytearray(path.read_bytes())
  data[len(data) // 2] ^= 0x10  # one bit
  path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [_truncate, _flip], ids=["truncated", "bit_flipped"])
def test_damaged_newest_is_skipped(run_copy, caplog, damage):
  damage(run_copy / "checkpoints" / "ckpt-4.data-00000-of-00001")
  assert checkpoints.find_intact(str(run_copy)).endswith("ckpt-2")
  skipped = [w for w in _warnings(caplog) if "skipped" in w]
  assert len(skipped) == 1 and "ckpt-4" in skipped[0] and "damaged" in skipped[0]


def test_damaged_newest_run_resumes_from_older(run_copy, caplog):
  caplog.set_level(logging.INFO)
  _flip(run_copy / "checkpoints" / "ckpt-4.data-00000-of-00001")
  assert train_tiny(run_copy, ["train.steps=6"])["step"] == 6
  assert _resumed_from(caplog).endswith("ckpt-2 at step 2")
  # ckpt-4 was saved again over the damaged one: it reads back whole now.
  assert checkpoints.damage(str(run_copy / "checkpoints" / "ckpt-4")) is None


def test_leftovers_of_a_killed_save_are_removed(run_copy):
  folder = run_copy / "checkpoints"
  (folder / "ckpt-5_temp").mkdir()
  (folder / "ckpt-5_temp" / "part-00000-of-00001.data-00000-of-00001").write_bytes(b"x")
  (folder / "checkpoint.tmp0123abcd").write_text("half")
  train_tiny(run_copy, ["train.steps=6"])
  names = sorted(os.listdir(folder))
  assert not [n for n in names if "_temp" in n or ".tmp" in n], names
  assert "ckpt-6.index" in names


def test_nonfinite_weights_are_never_saved(plugins_loaded, tmp_path, caplog):
  from tests.conftest import RING8, SMALL
  from tfgan1 import config as config_lib
  run = Run(config_lib.load(RING8, SMALL))
  manager = checkpoints.manager(run.checkpoint, str(tmp_path), keep=1)
  assert checkpoints.save(manager, run, 1).endswith("ckpt-1")
  kernel = run.trainer.gan.discriminator.trainable_variables[0]
  kernel.assign(np.full(kernel.shape, np.nan, np.float32))
  for step in (2, 3):  # keep=1: a save would have rotated ckpt-1 away
    assert checkpoints.save(manager, run, step) is None
  assert checkpoints.candidates(str(tmp_path / "checkpoints")) == [
      str(tmp_path / "checkpoints" / "ckpt-1")]
  warned = [w for w in _warnings(caplog) if "not saved at step 2" in w]
  assert warned and "NaN or inf" in warned[0] and "ckpt-1" in warned[0]
  # The kept checkpoint is the finite one.
  reader = checkpoints.tf.train.load_checkpoint(str(tmp_path / "checkpoints" / "ckpt-1"))
  values = [reader.get_tensor(n) for n, d in reader.get_variable_to_dtype_map().items()
            if d.is_floating]
  assert values and all(np.isfinite(v).all() for v in values)


def test_finished_run_changes_nothing(run_copy, caplog):
  caplog.set_level(logging.INFO)
  before = snapshot(run_copy)
  record = train_tiny(run_copy, ["train.log_every=1"])  # a harmless change
  assert record["step"] == 4
  assert any("already finished at step 4" in r.getMessage() for r in caplog.records)
  assert snapshot(run_copy) == before


def test_harmless_change_is_logged_in_one_line(run_copy, caplog):
  caplog.set_level(logging.INFO)
  train_tiny(run_copy, ["train.steps=6", "train.log_every=3"])
  changed = [r.getMessage() for r in caplog.records if "changed since" in r.getMessage()]
  assert changed == ["config: changed since the saved run: train.log_every (2 -> 3), "
                     "train.steps (4 -> 6)"]
  assert not list(run_copy.glob("config.*.yaml"))


def _session_hparams(folder):
  """The HParams dashboard's record of one run folder, read by tensorboard's reader."""
  from tensorboard.backend.event_processing import event_accumulator
  from tensorboard.plugins.hparams import metadata
  acc = event_accumulator.EventAccumulator(str(folder), size_guidance={"tensors": 0})
  acc.Reload()
  content = acc.SummaryMetadata(metadata.SESSION_START_INFO_TAG).plugin_data.content
  info = metadata.parse_session_start_info_plugin_data(content)
  steps = {e.step for tag in acc.Tags()["tensors"] if tag.startswith("loss/")
           for e in acc.Tensors(tag)}
  return {k: v.number_value or v.string_value for k, v in info.hparams.items()}, steps


def test_allowed_config_change_keeps_the_old_config(run_copy):
  old = (run_copy / "config.yaml").read_bytes()
  train_tiny(run_copy, ["train.steps=6", "optimizer.beta_1=0.7", "train.lambda=0.5", ALLOW])
  # TensorBoard keeps a run folder's first hparams: the new config is a run of its own.
  before, steps_before = _session_hparams(run_copy)
  after, steps_after = _session_hparams(run_copy / "from_step_4")
  assert before["lambda"] == 1.0 and after["lambda"] == 0.5
  assert max(steps_before) <= 4 and steps_after and min(steps_after) > 4
  assert (run_copy / "config.4.yaml").read_bytes() == old
  # The console's config lines are in train.log too (they are logged before it opens).
  logged = (run_copy / "train.log").read_text()
  assert "optimizer.beta_1 (0.5 -> 0.7)" in logged
  assert f"config: the config that trained steps up to 4 is kept in {run_copy}" in logged
  assert "beta_1: 0.7" in (run_copy / "config.yaml").read_text()
  steps = [json.loads(l)["step"] for l in (run_copy / "metrics.jsonl").read_text().splitlines()]
  assert steps == [4, 6]


def test_a_schedule_removed_on_resume_names_the_optimizer(run_copy):
  """ring8 has a learning-rate schedule: a constant rate changes the optimizer's state."""
  with pytest.raises(UserError, match="the optimizer's state differs.*schedule added or removed"):
    train_tiny(run_copy, ["train.steps=6", "optimizer.learning_rate=1e-3", ALLOW])


def test_an_allowed_learning_rate_change_is_used_after_the_resume(tmp_path, plugins_loaded):
  """Keras 3 checkpoints a constant rate: the restore must not bring the old one back."""
  train_tiny(tmp_path, ["optimizer.learning_rate=1e-4"])
  train_tiny(tmp_path, ["optimizer.learning_rate=5e-3", "train.steps=6", ALLOW])
  reader = checkpoints.tf.train.load_checkpoint(str(tmp_path / "checkpoints" / "ckpt-6"))
  rates = {n: float(reader.get_tensor(n)) for n in reader.get_variable_to_dtype_map()
           if "_learning_rate" in n}
  assert rates and all(r == pytest.approx(5e-3) for r in rates.values()), rates


def test_disk_full_mid_run_is_one_line_then_resumes(run_copy, monkeypatch):
  real_save = checkpoints.tf.train.CheckpointManager.save

  def full_disk_at_6(self, checkpoint_number=None, **kwargs):
    if checkpoint_number == 6:
      raise OSError(errno.ENOSPC, "No space left on device")
    return real_save(self, checkpoint_number=checkpoint_number, **kwargs)

  monkeypatch.setattr(checkpoints.tf.train.CheckpointManager, "save", full_disk_at_6)
  with pytest.raises(UserError) as info:
    train_tiny(run_copy, ["train.steps=6"])
  message = str(info.value)
  assert "\n" not in message and "disk is full" in message and message.endswith(
      f"resume from {run_copy / 'checkpoints' / 'ckpt-4'}")
  assert not (run_copy / ".lock").exists()  # released
  monkeypatch.undo()
  assert train_tiny(run_copy, ["train.steps=6"])["step"] == 6


def test_disk_full_recognised_from_tf_errors():
  tf = checkpoints.tf
  assert checkpoints.is_disk_full(tf.errors.ResourceExhaustedError(
      None, None, "ckpt-6_temp; No space left on device"))
  assert not checkpoints.is_disk_full(tf.errors.ResourceExhaustedError(
      None, None, "OOM when allocating tensor"))
  assert not checkpoints.is_disk_full(OSError(errno.EACCES, "Permission denied"))


def test_lock_dies_with_its_process(tmp_path):
  workdir = tmp_path / "run"
  code = ("import sys, time\nfrom tfgan1.runner import workdir\n"
          "lock = workdir.Lock(sys.argv[1]).__enter__()\nlock.start()\n"
          "print('locked', flush=True)\ntime.sleep(120)\n")
  holder = subprocess.Popen([sys.executable, "-c", code, str(workdir)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
  try:
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(UserError, match=f"in use by process {holder.pid};"):
      workdir_lib.Lock(str(workdir)).__enter__()
  finally:
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
  assert (workdir / ".lock").read_text().strip() == str(holder.pid)  # stale file
  with workdir_lib.Lock(str(workdir)) as lock:  # does not block the next run
    lock.start()
    assert (workdir / ".lock").read_text().strip() == str(os.getpid())
  assert not (workdir / ".lock").exists()


def test_key_added_by_a_newer_version_at_its_default_is_not_a_change(tmp_path):
  from tests.conftest import RING8
  from tfgan1 import config as config_lib
  from tfgan1.runner import resume_record as history
  from tfgan1.config import yamlio
  saved = yamlio.roundtrip(config_lib.to_dict(config_lib.load(RING8)))
  del saved["train"]["n_g"]  # as if written before train.n_g existed
  (tmp_path / "config.yaml").write_text(yamlio.dump(saved))
  assert history.compare(str(tmp_path), config_lib.load(RING8), False) is False
  with pytest.raises(UserError, match=r"differing keys: train.n_g \('missing' -> 3\)"):
    history.compare(str(tmp_path), config_lib.load(RING8, ["train.n_g=3"]), False)


def test_ema_key_added_by_a_newer_version_at_its_default_is_not_a_change(tmp_path):
  """A run saved before `ema.bn_batches` existed resumes (the EMA section is optional,
  so its defaults need a section to come from)."""
  from tests.conftest import RING8
  from tfgan1 import config as config_lib
  from tfgan1.runner import resume_record as history
  from tfgan1.config import yamlio
  config = config_lib.load(RING8, ["ema.bn_batches=16"])
  saved = yamlio.roundtrip(config_lib.to_dict(config))
  del saved["ema"]["bn_batches"]
  (tmp_path / "config.yaml").write_text(yamlio.dump(saved))
  assert history.compare(str(tmp_path), config, False) is False
  with pytest.raises(UserError, match=r"differing keys: ema.bn_batches \('missing' -> 4\)"):
    history.compare(str(tmp_path), config_lib.load(RING8, ["ema.bn_batches=4"]), False)


def test_isolated_run_trains_in_a_child_process(run_copy, capfd):
  """`train_and_evaluate(..., isolated=True)`: the CLI in a child, whose memory goes
  back when it ends (tools/soak.py); it resumes the run and returns the final record."""
  from tests.conftest import RING8, RUN_SETS, SMALL  # pylint: disable=g-import-not-at-top
  from tfgan1 import api  # pylint: disable=g-import-not-at-top
  config = api.load_config(RING8, SMALL + RUN_SETS + ["train.steps=6"])
  record = api.train_and_evaluate(config, run_copy, isolated=True)
  assert record["step"] == 6
  assert json.loads((run_copy / "metrics.jsonl").read_text().splitlines()[-1]) == record
  err = capfd.readouterr().err
  assert "resuming from" in err and "done: step 6 in" in err


@pytest.mark.parametrize("code, line, kind", [
    (2, "error: train.steps: -1 is not allowed", UserError),
    (75, "error: worker 1 (h:1) is unreachable; ...", "RestartAll"),
    (1, "error: non-finite losses", "NonFiniteStop"),
    (1, "Segmentation fault", RuntimeError)])
def test_isolated_run_failures_are_the_in_process_exceptions(code, line, kind):
  from tfgan1 import errors, isolated  # pylint: disable=g-import-not-at-top
  err = isolated.failure(code, line)
  assert type(err) is (getattr(errors, kind) if isinstance(kind, str) else kind)
  if code != 1 or line.startswith("error"):
    assert str(err) == line[len("error: "):]
