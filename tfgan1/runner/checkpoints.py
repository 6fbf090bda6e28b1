"""Checkpoints of everything a run needs to continue exactly where it stopped.

One `tf.train.Checkpoint` holds the step, both networks, the optimizer slots,
the EMA generator, the noise RNG state and the data iterator's position
(`tfgan1.backends.protocol.checkpoint_parts`), so a resumed run draws the same
noise and data it would have drawn without the stop.

Progress is never lost to bookkeeping: the newest checkpoint is found by
scanning `checkpoints/` (the `checkpoint` state file may be garbage or stale),
each candidate's tensors are read back with their checksums before it is used,
a damaged one is skipped with one line saying why, and a checkpoint holding a
non-finite weight is never written, so rotation cannot push out the last good one.
"""
import errno
import os
import re
import shutil

from absl import logging
import numpy as np

from tfgan1 import tfimport
from tfgan1.errors import UserError, describe

tf = tfimport.tensorflow()

SUBDIR = "checkpoints"
STATE_FILE = "checkpoint"
_INDEX = re.compile(r"^ckpt-(\d+)\.index$")
_STATE_LINE = re.compile(r'^\s*(model_checkpoint_path|all_model_checkpoint_paths)\s*:\s*"([^"]*)"\s*$'
                         r'|^\s*(all_model_checkpoint_timestamps|last_preserved_timestamp)'
                         r'\s*:\s*[-+0-9.eE]+\s*$')


def step_of(prefix):
  return int(prefix.rsplit("-", 1)[1])


def candidates(folder):
  """Checkpoint prefixes with an index file in `folder`, newest step first."""
  if not os.path.isdir(folder):
    return []
  found = [(int(m.group(1)), os.path.join(folder, m.group(0)[:-len(".index")]))
           for m in map(_INDEX.match, os.listdir(folder)) if m]
  return [prefix for _, prefix in sorted(found, reverse=True)]


def state_problem(folder):
  """Why the `checkpoint` state file cannot be trusted, or None when it can."""
  path = os.path.join(folder, STATE_FILE)
  if not os.path.exists(path):
    return "it is missing" if candidates(folder) else None
  try:
    with open(path, encoding="utf-8") as f:
      lines = [l for l in f.read().splitlines() if l.strip()]
  except (OSError, UnicodeDecodeError) as e:
    return f"it cannot be read ({describe(e)})"
  parsed = [_STATE_LINE.match(l) for l in lines]
  if not lines or not parsed[0] or parsed[0].group(1) != "model_checkpoint_path":
    return "it is empty" if not lines else "it is not a checkpoint state file"
  if not all(parsed):
    return "it is not a checkpoint state file"
  named = parsed[0].group(2)
  if not os.path.isfile(os.path.join(folder, named) + ".index"):
    return f"it names {os.path.basename(named)!r}, whose files are gone"
  return None


def damage(prefix):
  """Why checkpoint `prefix` is damaged, or None when every tensor reads back.

  TF stores a CRC32C per tensor, so reading each one catches truncated and
  bit-flipped files alike. RestoreV2 reads every dtype, the data iterator's
  variant state included, which the numpy reader cannot.
  """
  try:
    dtypes = tf.train.load_checkpoint(prefix).get_variable_to_dtype_map()
    names = sorted(dtypes)
    tf.raw_ops.RestoreV2(prefix=prefix, tensor_names=names,
                         shape_and_slices=[""] * len(names),
                         dtypes=[dtypes[n] for n in names])
  except Exception as e:  # pylint: disable=broad-except  (TF raises many kinds here)
    return describe(e)
  return None


def find_intact(workdir):
  """The newest intact checkpoint prefix in `workdir`, or None when there is none.

  Every state file or checkpoint passed over is logged in one line; when
  checkpoints exist but none is intact, that is one UserError listing them.
  """
  folder = os.path.join(workdir, SUBDIR)
  notes, skipped = [], []
  problem = state_problem(folder)
  if problem:
    notes.append(f"checkpoint: skipped the state file {os.path.join(folder, STATE_FILE)!r}: "
                 f"{problem}; using the newest intact checkpoint instead")
  for prefix in candidates(folder):
    why = damage(prefix)
    if why is None:
      for note in notes:
        logging.warning("%s", note)
      return prefix
    notes.append(f"checkpoint: skipped {prefix!r}: damaged ({why}); trying an older one")
    skipped.append(f"{os.path.basename(prefix)} ({why})")
  if skipped:
    raise UserError(f"checkpoint: no intact checkpoint left in {folder!r}: "
                    f"{'; '.join(skipped)}; move the folder away to start over")
  return None


def restore(checkpoint, path, partial=False):
  """Restores `path` into `checkpoint`; a bad or mismatched file is a UserError."""
  try:
    status = checkpoint.restore(path)
    if partial:
      status.expect_partial()
    else:
      status.assert_consumed()  # every saved value has a home, and vice versa
  except Exception as e:  # pylint: disable=broad-except  (TF raises many kinds here)
    raise UserError(f"checkpoint: {path!r} cannot be restored into this config "
                    f"({_likely_cause(str(e))}): {describe(e)}") from None
  return path


def _likely_cause(text):
  # An optimizer variable named in TF's message: the networks fit, their optimizer does not.
  if re.search(r"learning_rate|iteration|optimizer|adam|momentum|velocity", text, re.I):
    return ("the optimizer's state differs: another optimizer, or a learning-rate schedule "
            "added or removed; use a new --workdir")
  return "a different architecture, or a damaged file?"


def latest(workdir):
  """The newest intact checkpoint prefix in `workdir`, or None when there is none."""
  return find_intact(workdir)


def clean_leftovers(workdir):
  """Removes what a kill during a save leaves: `ckpt-N_temp/` and `checkpoint.tmp*`.

  Call only while holding the workdir lock: a running save owns these.
  """
  folder = os.path.join(workdir, SUBDIR)
  if not os.path.isdir(folder):
    return
  for name in os.listdir(folder):
    path = os.path.join(folder, name)
    if name.endswith("_temp") and os.path.isdir(path):
      shutil.rmtree(path, ignore_errors=True)
      logging.info("checkpoint: removed %r, left by a save that did not finish", path)
    elif name.startswith(STATE_FILE + ".tmp"):
      os.remove(path)


def manager(checkpoint, workdir, keep, resumed=None):
  """The run's CheckpointManager, its state file first pointed at `resumed`.

  When the state file was garbage or named another checkpoint, it is rewritten
  to list the intact checkpoint the run resumed from and the older ones, so
  rotation keeps working on them.
  """
  folder = os.path.join(workdir, SUBDIR)
  if resumed is not None and (state_problem(folder) or
                              tf.train.latest_checkpoint(folder) != resumed):
    older = [p for p in reversed(candidates(folder)) if step_of(p) <= step_of(resumed)]
    # Timestamps after last_preserved_timestamp mark them as the manager's to rotate.
    times = [os.path.getmtime(p + ".index") for p in older]
    tf.compat.v1.train.update_checkpoint_state(
        folder, resumed, older, all_model_checkpoint_timestamps=times,
        last_preserved_timestamp=min(times) - 1.0)
  elif resumed is None and state_problem(folder):
    os.remove(os.path.join(folder, STATE_FILE))  # it names nothing there is
  return tf.train.CheckpointManager(checkpoint, folder, max_to_keep=keep)


def nonfinite_variable(run):
  """The name of the first checkpointed float variable holding NaN or inf, or None."""
  for v in run.saved_variables():
    value = np.asarray(v)
    if value.dtype.kind == "f" and not np.isfinite(value).all():
      return getattr(v, "path", None) or v.name
  return None


def is_disk_full(err):
  """True for an OSError or TF error that says the disk (or quota) is full."""
  if isinstance(err, OSError):
    return err.errno in (errno.ENOSPC, errno.EDQUOT)
  return isinstance(err, tf.errors.OpError) and "No space left" in str(err)


def save(manager_, run, step):
  """Saves `run` (a backend) at `step`, unless a weight is non-finite; returns
  the prefix or None."""
  run.before_save(step)
  bad = nonfinite_variable(run)
  if bad is not None:
    logging.warning("checkpoint: not saved at step %d: %s holds NaN or inf; the last "
                    "finite checkpoint (%s) is kept", step, bad,
                    manager_.latest_checkpoint or "none yet")
    return None
  return manager_.save(checkpoint_number=step)
