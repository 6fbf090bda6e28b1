"""The run folder: writability checked before anything is built, one run at a
time (an OS lock that dies with its process), and a full disk as one line.

`check_writable` changes nothing on disk. `Lock` takes `flock` on the workdir
folder itself, so a run that is refused (a validation error, a second run,
`already finished`) leaves every file as it was; the holder's PID goes into
`.lock` only once the run really starts, and the file is removed at its end.
"""
import contextlib
import os
import tempfile

from tfgan1.errors import UserError, describe

try:
  import fcntl
except ImportError:  # Windows: no flock; runs are not locked there
  fcntl = None

PID_FILE = ".lock"
_PARTS = {"checkpoints": True, "samples": True, "config.yaml": False,
          "metrics.jsonl": False}  # what a run writes: is it a folder?


def _probe(folder, workdir):
  """Creates and removes a file in `folder`: the only sure test (root ignores modes)."""
  try:
    fd, name = tempfile.mkstemp(prefix=".tfgan1_probe_", dir=folder)
    os.close(fd)
    os.remove(name)
  except OSError as e:
    raise UserError(f"--workdir: {workdir!r} is not writable: cannot create a file "
                    f"in {folder!r} ({e.strerror or describe(e)})") from None


def check_writable(workdir):
  """Raises a one-line UserError unless `workdir` is, or can become, a writable folder."""
  path = os.path.abspath(workdir)
  if os.path.exists(path):
    if not os.path.isdir(path):
      raise UserError(f"--workdir: {workdir!r} is a file; expected a folder")
    _probe(path, workdir)
    for name, folder in _PARTS.items():
      part = os.path.join(path, name)
      if os.path.exists(part) and os.path.isdir(part) != folder:
        raise UserError(f"--workdir: {part!r} should be a {'folder' if folder else 'file'}; "
                        "is this the folder of a tfgan1 run?")
      if folder and os.path.isdir(part):
        _probe(part, workdir)
    return
  parent = os.path.dirname(path)
  while not os.path.exists(parent):
    parent = os.path.dirname(parent)
  if not os.path.isdir(parent):
    raise UserError(f"--workdir: {workdir!r} cannot be created: {parent!r} is a file, "
                    "not a folder")
  _probe(parent, workdir)


def _holder(workdir):
  try:
    with open(os.path.join(workdir, PID_FILE), encoding="utf-8") as f:
      pid = int(f.read().strip())
    os.kill(pid, 0)  # alive? (a killed run's file can be stale)
    return f"process {pid}"
  except (OSError, ValueError):
    return "another process"


class Lock:
  """An exclusive lock on a workdir, held from `__enter__` (if the folder exists)
  or `start()` until `__exit__`; the OS drops it when the process dies."""

  def __init__(self, workdir):
    self.workdir = workdir
    self._fd = None

  def _acquire(self):
    if self._fd is not None or fcntl is None:
      return
    fd = os.open(self.workdir, os.O_RDONLY)
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
      os.close(fd)
      raise UserError(f"--workdir: {self.workdir!r} is in use by {_holder(self.workdir)}; "
                      "wait for it to finish, or stop it, or pick another --workdir") from None
    self._fd = fd

  def __enter__(self):
    if os.path.isdir(self.workdir):
      self._acquire()
    return self

  def start(self):
    """Creates the folder if needed, locks it, and records this process's PID."""
    os.makedirs(self.workdir, exist_ok=True)
    self._acquire()
    with open(os.path.join(self.workdir, PID_FILE), "w", encoding="utf-8") as f:
      f.write(f"{os.getpid()}\n")

  def __exit__(self, *exc):
    if self._fd is None:
      return
    with contextlib.suppress(OSError):
      os.remove(os.path.join(self.workdir, PID_FILE))
    os.close(self._fd)  # releases the flock
    self._fd = None


@contextlib.contextmanager
def disk_full_is_one_line(workdir):
  """Turns a full disk (on a save or a log write) into a one-line UserError
  naming the last complete checkpoint, which a rerun resumes from."""
  from tfgan1.runner import checkpoints  # pylint: disable=g-import-not-at-top  (imports TF)
  try:
    yield
  except (OSError, checkpoints.tf.errors.OpError) as e:
    if not checkpoints.is_disk_full(e):
      raise
    folder = os.path.join(workdir, checkpoints.SUBDIR)
    try:
      last = checkpoints.tf.train.latest_checkpoint(folder)  # updated after each save
    except Exception:  # pylint: disable=broad-except  (a damaged state file)
      last = None
    raise UserError(f"--workdir: the disk is full, writing to {workdir!r} failed "
                    f"({describe(e)}); free space and run the same command again to "
                    f"resume from {last or 'the start'}") from None
