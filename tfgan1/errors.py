"""The one exception type for bad user input (config, paths, data, checkpoints).

`tfgan1.run` turns it into one line on stderr and exit code 2, with no traceback.
Its message names the field, the bad value and what is allowed.
"""
import sys


class UserError(Exception):
  """Bad input from the user: reported as one line, exit code 2."""


def run_tool(main_fn, argv):
  """absl main for tools/: runs `main_fn()`; a UserError is one line, exit 2."""
  if len(argv) > 1:
    print(f"error: unexpected arguments {argv[1:]}", file=sys.stderr)
    sys.exit(2)
  try:
    main_fn()
  except UserError as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(2)
