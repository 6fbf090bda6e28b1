"""`train_and_evaluate(..., isolated=True)`: the run in a child process of its own.

Many runs in one process (a sweep, a notebook) keep memory that TensorFlow does not
return between runs (measured in docs/bench_notes/issue34.md, `tools/soak.py`). A
child process per run returns all of it when it exits. The child is exactly
`python -m tfgan1.run` on the checked config, its console lines pass through, and
its one-line failures come back as the exceptions an in-process run raises.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile

from tfgan1 import config as config_lib
from tfgan1.config import yamlio
from tfgan1.errors import NonFiniteStop, RestartAll, UserError


def command(config_path, workdir, allow_config_change=False, profile_steps=None):
  """The child's command line."""
  cmd = [sys.executable, "-m", "tfgan1.run", "--config", config_path,
         "--workdir", os.fspath(workdir)]
  if allow_config_change:
    cmd.append("--allow_config_change")
  if profile_steps:
    cmd += ["--profile_steps", f"{profile_steps[0]},{profile_steps[1]}"]
  return cmd


def failure(code, last_line):
  """The exception for a child that exited with `code`, its last stderr line given."""
  message = last_line[len("error: "):] if last_line.startswith("error: ") else last_line
  if code == 2:
    return UserError(message)
  if code == RestartAll.EXIT_CODE:
    return RestartAll(message)
  if code == 1 and last_line.startswith("error: "):
    return NonFiniteStop(message)
  if code == 130:
    return KeyboardInterrupt()
  return RuntimeError(f"the run's process ended with exit code {code}: {last_line}")


def _final_record(workdir):
  with open(os.path.join(workdir, "metrics.jsonl"), encoding="utf-8") as f:
    lines = [l for l in f.read().splitlines() if l.strip()]
  return json.loads(lines[-1])


def train_and_evaluate(config, workdir, allow_config_change=False, profile_steps=None):
  """Runs a checked `Config` as `python -m tfgan1.run` and returns its final record."""
  with tempfile.TemporaryDirectory(prefix="tfgan1_run_") as folder:
    path = os.path.join(folder, "config.yaml")
    with open(path, "w", encoding="utf-8") as f:
      f.write(yamlio.dump(config_lib.to_dict(config)))
    proc = subprocess.Popen(command(path, workdir, allow_config_change, profile_steps),
                            stdout=sys.stdout.fileno() if _has_fd(sys.stdout) else None,
                            stderr=subprocess.PIPE, text=True)
    last = ""
    try:
      for line in proc.stderr:  # the console lines, passed on as they come
        sys.stderr.write(line)
        last = line.strip() or last
      code = proc.wait()
    except KeyboardInterrupt:  # the child saves a checkpoint on SIGINT, as on Ctrl-C
      proc.send_signal(signal.SIGINT)
      proc.wait()
      raise
  if code != 0:
    raise failure(code, last)
  return _final_record(os.fspath(workdir))


def _has_fd(stream):
  try:
    stream.fileno()
    return True
  except (AttributeError, OSError, ValueError):  # a notebook's stream has none
    return False
