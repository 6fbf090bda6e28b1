"""The one exception type for bad user input (config, paths, data, checkpoints).

`tfgan1.run` turns it into one line on stderr and exit code 2, with no traceback.
Its message names the field, the bad value and what is allowed.
"""
import os
import re

_NOISE = re.compile(r"\x1b\[[0-9;]*m|\{\{function_node [^}]*\}\}\s*|\s*\[Op:\w+\]")


class UserError(Exception):
  """Bad input from the user: reported as one line, exit code 2."""


class Stopped(KeyboardInterrupt):
  """Ctrl-C or SIGTERM ended a run after it saved a checkpoint and said how to resume."""


class NonFiniteStop(Exception):
  """Non-finite losses or gradients stopped the run (`train.on_nonfinite`): exit 1."""


def shown_path(path):
  """A path for an error message: a relative one also shown resolved.

  `'data/x' (= '/home/me/data/x' from the current directory '/home/me')`, so
  a user who runs from another folder sees which file was looked for.
  """
  if not isinstance(path, (str, os.PathLike)) or os.path.isabs(path):
    return repr(path)
  cwd = os.getcwd()
  return f"{os.fspath(path)!r} (= {os.path.join(cwd, path)!r} from the current directory {cwd!r})"


def describe(err):
  """`Type: first informative line` of an exception from TF, Keras or a plugin.

  Keras wraps layer errors in "Exception encountered when calling ..." and TF
  adds function-node and op tags; the user needs the sentence inside.
  """
  lines = [_NOISE.sub("", line).strip() for line in str(err).splitlines()]
  lines = [l for l in lines if l and not l.startswith("Exception encountered when calling")]
  return f"{type(err).__name__}: {lines[0]}" if lines else type(err).__name__


class RestartAll(Exception):
  """A multi_worker job stopped because a worker died or was preempted: every
  worker must be restarted, and resumes from the last checkpoint.

  `tfgan1.run` prints the one-line message and exits with `EXIT_CODE`
  (EX_TEMPFAIL of sysexits.h: a temporary failure, retrying may succeed), which a
  cluster manager can map to "restart the whole job".
  """
  EXIT_CODE = 75
