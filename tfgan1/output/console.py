"""What a user reads while a run trains: plain lines on the console, a start
banner and one summary line; absl's full format (time, thread, file:line) goes
to `train.log` in the workdir instead, for whoever debugs the run later.
"""
import contextlib
import datetime
import logging
import os
import sys

from absl import flags
from absl import logging as absl_logging

LOG_FILE = "train.log"


class _PlainFormatter(logging.Formatter):
  """INFO lines as they are; warnings and errors say so."""

  def format(self, record):
    message = record.getMessage()
    if record.levelno >= logging.WARNING:
      return f"{record.levelname.lower()}: {message}"
    return message


class _Held(logging.Handler):
  """Keeps the records logged before the workdir's log file opens."""

  def __init__(self):
    super().__init__()
    self.records = []

  def emit(self, record):
    self.records.append(record)


@contextlib.contextmanager
def plain_console():
  """absl lines on stderr without the absl prefix, INFO and up, for one run.

  The absl logger stops propagating to the root handler meanwhile, so a line
  is printed once whether the CLI (absl's handler) or a notebook (none) runs.
  Yields the lines held for `log_file` (what the console showed before it opened).
  """
  logger = absl_logging.get_absl_logger()
  handler = logging.StreamHandler(sys.stderr)
  handler.setFormatter(_PlainFormatter())
  held = _Held()
  saved = logger.level, logger.propagate
  if not flags.FLAGS.is_parsed() or logger.getEffectiveLevel() > logging.INFO:
    # Called from Python (no absl flags): show progress as the CLI does.
    logger.setLevel(logging.INFO)
  logger.addHandler(handler)
  logger.addHandler(held)
  logger.propagate = False
  try:
    yield held
  finally:
    logger.removeHandler(handler)
    logger.removeHandler(held)
    logger.setLevel(saved[0])
    logger.propagate = saved[1]


@contextlib.contextmanager
def log_file(workdir, held=None):
  """Appends absl's full-format lines to `workdir/train.log` (resumes append),
  first the lines `held` (from `plain_console`) kept before the run started, so
  every line the console showed is in the file."""
  logger = absl_logging.get_absl_logger()
  handler = logging.FileHandler(os.path.join(workdir, LOG_FILE), encoding="utf-8")
  handler.setFormatter(absl_logging.PythonFormatter())
  if held is not None:
    logger.removeHandler(held)
    for record in held.records:
      handler.handle(record)
    held.records = []
  logger.addHandler(handler)
  try:
    yield
  finally:
    logger.removeHandler(handler)
    handler.close()


def _count(model):
  return f"{model.count_params():,}"


def devices(tf):
  """'GPU:0 (NVIDIA H100 ...)' or 'CPU', the devices TensorFlow will use."""
  gpus = tf.config.list_logical_devices("GPU")
  if not gpus:
    return "CPU"
  names = []
  for physical in tf.config.list_physical_devices("GPU")[:len(gpus)]:
    details = tf.config.experimental.get_device_details(physical)
    names.append(details.get("device_name", "GPU"))
  shown = ", ".join(f"{d.name.split('device:')[-1]} ({n})" for d, n in zip(gpus, names))
  return shown or ", ".join(d.name for d in gpus)


def _data_size(data):
  try:
    return f"{len(data):,} samples"
  except TypeError:  # a stream without a length (the toy mixtures)
    return "an endless stream"


def _strategy_line(config, strategy):
  """'strategy mirrored: 2 replicas on 1 worker | batch 64 global, 32 per replica'."""
  replicas = strategy.num_replicas_in_sync
  resolver = getattr(strategy, "cluster_resolver", None)
  workers = 1
  if resolver is not None and resolver.cluster_spec().as_dict():
    spec = resolver.cluster_spec()
    workers = sum(spec.num_tasks(job) for job in ("chief", "worker") if job in spec.jobs)
    task = f" (this is {resolver.task_type} {resolver.task_id})"
  else:
    task = ""
  batch = config.train.batch_size
  return (f"strategy {config.distribute.strategy}: {replicas} replicas on {workers} "
          f"worker{'s' if workers > 1 else ''}{task} | batch {batch} global, "
          f"{batch // replicas} per replica")


def _used_devices(tf, strategy):
  """The devices the run computes on: the strategy's here, else TF's default."""
  if strategy is None:
    return devices(tf)
  shown = [d.split("/device:")[-1] if "/device:" in d else d
           for d in strategy.extended.worker_devices]
  known = devices(tf)
  return ", ".join(shown) + ("" if known == "CPU" else f"; visible: {known}")


def banner(run, workdir, resumed_from, tf, strategy=None):
  """The start lines: workdir, new or resumed, strategy, devices, sizes, data, rule, loss."""
  config, gan = run.config, run.networks
  train = config.train
  if resumed_from:
    start = f"resuming from {resumed_from} at step {run.step()}"
  else:
    start = "new run"
  rule = train.rule + (f" ({train.one_step_form})" if train.rule == "one_step" else "")
  loss = config.loss.name + "".join(f" + {p.name}" for p in config.penalties)
  if train.g_top_k < 1.0:
    loss += f" | G loss on the top {train.g_top_k:g} of fakes"
  distributed = [_strategy_line(config, strategy)] if strategy is not None else []
  return [
      f"workdir {workdir}: {start}",
      *distributed,
      f"devices: {_used_devices(tf, strategy)}",
      f"generator {config.generator.name}: {_count(gan.generator)} parameters | "
      f"discriminator {config.discriminator.name}: {_count(gan.discriminator)} parameters",
      f"data {config.data.name}: {_data_size(run.data)} | batch {train.batch_size}",
      f"rule {rule} | loss {loss} | {train.steps} steps",
  ]


def rounded(values):
  """`k=v` pairs, floats to 4 significant digits."""
  return " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                  for k, v in values.items())


def summary(step, seconds, record, last_scalars):
  """One end line: the final step, wall time, eval metrics and last losses."""
  wall = datetime.timedelta(seconds=round(seconds))
  metrics = {k: v for k, v in record.items() if k != "step"}
  losses = {k: v for k, v in (last_scalars or {}).items() if k in ("loss_d", "loss_g")}
  parts = [f"done: step {step} in {wall}"]
  if metrics:
    parts.append(rounded(metrics))
  if losses:
    parts.append(rounded(losses))
  return " | ".join(parts)
