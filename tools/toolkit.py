"""What every tool under tools/ shares: the absl main wrapper and one-line flag checks.

Tools run as `python tools/<tool>.py`, so tools/ is on sys.path and this module
imports as `import toolkit` (as `benchlib` does). Bad input is a
`tfgan1.errors.UserError`: one line on stderr, exit code 2, no traceback.
"""
import sys

from tfgan1.errors import UserError


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


def check_at_least(minimum, **values):
  """One-line errors for flags below `minimum`: `check_at_least(1, steps=...)`."""
  for name, value in values.items():
    if value < minimum:
      raise UserError(f"--{name}: {value} is not allowed; must be >= {minimum}")


def timed_steps(flags, default):
  """`--steps` (or a mode's `default`), with `--rounds` and `--warmup` checked."""
  steps = flags.steps or default
  check_at_least(1, steps=steps, rounds=flags.rounds)
  check_at_least(0, warmup=flags.warmup)
  return steps


def check_choices(values, allowed, flag):
  """One-line error for the first of `values` not in `allowed` (`--flag` named)."""
  for v in values:
    if v not in allowed:
      raise UserError(f"--{flag}: {v!r} is not allowed; choose from: {', '.join(allowed)}")
