"""The one exception type for bad user input (config, paths, data, checkpoints).

`tfgan1.run` turns it into one line on stderr and exit code 2, with no traceback.
Its message names the field, the bad value and what is allowed.
"""


class UserError(Exception):
  """Bad input from the user: reported as one line, exit code 2."""
