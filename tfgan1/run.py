"""Entry point: `python -m tfgan1.run --config configs/X.yaml [--set a.b=v] [--workdir DIR]`.

Parses flags, loads the config, calls `tfgan1.train_and_evaluate(config, workdir)`.
Bad input of any kind ends with one line on stderr and exit code 2.
"""
import atexit
import os
import sys

from absl import app
from absl import flags

from tfgan1 import api
from tfgan1 import config as config_lib
from tfgan1.registry import loader as plugin_loader
from tfgan1.errors import NonFiniteStop, RestartAll, Stopped, UserError

FLAGS = flags.FLAGS
flags.DEFINE_string("config", None, "YAML run config.")
flags.DEFINE_multi_string("set", [], "Override a config key: a.b=value (repeatable).")
flags.DEFINE_string("workdir", None, "Run folder (default: runs/<config name>).")
flags.DEFINE_multi_string("plugin", [], "Module path or .py file of a user plugin (repeatable).")
flags.DEFINE_bool("list_plugins", False, "Print the registered plugins by kind, the update "
                  "rules and the backends, and exit.")
flags.DEFINE_bool("verify", False, "Check that the update rules' gradients agree; no training.")
flags.DEFINE_bool("allow_config_change", False,
                  "Resume a workdir whose saved config.yaml differs in keys that change "
                  "training; the old config is kept as config.<step>.yaml.")
flags.DEFINE_bool("debug", False, "Show the traceback of an error instead of one line.")
flags.DEFINE_string("profile_steps", None,
                    "FIRST,LAST: write a TensorBoard profiler trace of those steps.")


def _list_plugins():
  from tfgan1 import registry  # pylint: disable=g-import-not-at-top
  plugin_loader.load_all((), FLAGS.plugin)
  for kind, reg in registry.ALL.items():
    print(f"{kind}: {', '.join(reg.keys()) or '(none)'}")
  print(f"rules: {', '.join(sorted(registry.RULE_MODULES))}")
  print(f"backends: {', '.join(sorted(registry.BACKEND_MODULES))}")
  from tfgan1 import backends  # pylint: disable=g-import-not-at-top  (imports TF)
  for name in sorted(registry.BACKEND_MODULES):  # what each does not support
    limits = backends.backend_class(name).supports.limits()
    print(f"backend {name} limits: " + ("; ".join(f"{key} = {allowed}" for key, allowed
                                                  in limits.items()) or "(none)"))


def _main(argv):
  if len(argv) > 1:
    raise UserError(f"unexpected arguments {argv[1:]}; use --config FILE [--set key=value]")
  if FLAGS.list_plugins:
    _list_plugins()
    return 0
  if not FLAGS.config:
    raise UserError("--config: missing; give a YAML file, e.g. --config configs/ring8.yaml")
  config = config_lib.load(FLAGS.config, FLAGS.set)  # errors name --config (api's: config)
  config = api.with_plugins(config, FLAGS.plugin)
  if FLAGS.verify:
    from tfgan1 import backends  # pylint: disable=g-import-not-at-top  (imports TF)
    sys.exit(backends.verify(config))
  from tfgan1.output import dashboard  # pylint: disable=g-import-not-at-top  (imports TF)
  profile_steps = dashboard.parse_profile_steps(FLAGS.profile_steps)
  stem = os.path.splitext(os.path.basename(FLAGS.config))[0]
  api.train_and_evaluate(config, FLAGS.workdir or os.path.join("runs", stem),
                         profile_steps=profile_steps,
                         allow_config_change=FLAGS.allow_config_change)
  return 0


def main(argv):
  try:
    return _main(argv)
  except UserError as e:
    if FLAGS.debug:
      raise
    print(f"error: {e}", file=sys.stderr)
    sys.exit(2)
  except KeyboardInterrupt as e:
    if not isinstance(e, Stopped):  # else the run logged it (console and train.log)
      print("stopped; run the same command again to resume", file=sys.stderr)
    sys.exit(130)
  except RestartAll as e:  # a dead or preempted multi_worker peer: restart the job
    print(f"error: {e}", file=sys.stderr)
    _exit_now(RestartAll.EXIT_CODE)
  except NonFiniteStop as e:  # train.on_nonfinite: the bad steps changed no weight
    print(f"error: {e}", file=sys.stderr)
    sys.exit(1)


def _exit_now(code):
  """Exits at once after Python's exit handlers (AutoGraph's temporary files, this
  worker's folders), skipping TensorFlow's shutdown: in a cluster that lost a worker
  it waits for the other workers and logs about them after the run's one line."""
  sys.stdout.flush()
  sys.stderr.flush()
  atexit._run_exitfuncs()  # pylint: disable=protected-access
  os._exit(code)  # pylint: disable=protected-access


def parse_flags(argv):
  """absl's flag parsing, with a bad flag as one `error:` line and exit 2.

  (absl itself prints a two-line FATAL message and exits 1.)
  """
  try:
    return FLAGS(argv)
  except flags.Error as e:
    if "--debug" in argv:
      raise
    message = " ".join(str(e).split())
    print(f"error: {message}; see --helpshort", file=sys.stderr)
    sys.exit(2)


def entry():
  app.run(main, flags_parser=parse_flags)


if __name__ == "__main__":
  entry()
