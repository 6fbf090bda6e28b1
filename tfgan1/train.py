"""The run loop: build, resume, train, log, checkpoint, sample, evaluate."""
import signal
import time

from absl import logging

from tfgan1 import backends
from tfgan1 import build
from tfgan1 import checkpoints
from tfgan1 import config as config_lib
from tfgan1 import console
from tfgan1 import dashboard
from tfgan1 import distribute
from tfgan1 import ema as ema_lib
from tfgan1 import evaluation
from tfgan1 import history
from tfgan1 import native_log
from tfgan1 import reporting
from tfgan1 import restore
from tfgan1 import sampling
from tfgan1 import viz
from tfgan1 import workdir as workdir_lib
from tfgan1.engine import Trainer

tf = build.tf
_FIXED_NOISE_SEED_OFFSET = 1_000_003  # fixed-noise grid: apart from the train RNG


class Run:
  """Everything a run holds, built before the workdir is touched."""

  def __init__(self, config, strategy=None):
    """`strategy`: from `distribute.make(config)`, made before any other TF work."""
    self.config = config
    self.strategy = strategy
    built = build.everything(config, self.strategy)
    self.data = built.data
    with distribute.scope(self.strategy):
      ema = None
      if config.ema is not None:
        ema = ema_lib.from_config(built.gan.generator, build.keras, config, built.noise_fn)
      self.trainer = Trainer(built.gan, config.train, built.optimizers, built.noise_fn,
                             ema, getattr(built.precision, "loss_scale", None),
                             self.strategy)
    self.rng = tf.random.Generator.from_seed(config.seed)
    self.iterator = iter(self.data.dataset(config.train.batch_size, config.seed))
    self.checkpoint = checkpoints.make(self.trainer, self.rng, self.iterator)
    # The first call builds and optimizes the step's graph: see native_log.
    self.trainer.train_step = native_log.quiet_first_call(self.trainer.train_step)
    self.trainer.train_steps = native_log.quiet_first_call(self.trainer.train_steps)

  @property
  def sampler(self):
    """The generator used for samples and evaluation: the EMA one when enabled,
    its BatchNorm statistics calibrated (see `tfgan1.ema`)."""
    t = self.trainer
    return t.ema.calibrate(int(t.step.numpy())) if t.ema is not None else t.gan.generator

  def samples(self, num, seed, labels=None):
    """Samples of the sampler; a conditional run cycles through the classes."""
    classes = self.data.spec.num_classes
    if classes and labels is None:
      labels = sampling.class_labels(num, classes)
    return restore.sample(self.config, self.sampler, num, seed, labels)


def make_run(config, strategy=None):
  """The run of `config.train.backend` (this module's `Run` for tf2).

  Other backends run on one device (they refuse a `distribute:` strategy).
  """
  cls = backends.run_class(config, default=Run)
  return cls(config, strategy) if cls is Run else cls(config)


def _warn_lambda_with_adaptive_optimizer(config):
  """lambda is a learning-rate ratio only for plain SGD: say so once."""
  shared = not config_lib.separate_optimizers(config)
  if shared and config.train.lambda_ != 1.0 and config.optimizer.name.lower() != "sgd":
    logging.warning(
        "train.lambda=%g with one shared adaptive optimizer (%s) barely changes G's "
        "step: %s divides by the gradient's running scale. For TTUR give D and G "
        "their own learning rates (d_optimizer / g_optimizer), or use optimizer.name: sgd.",
        config.train.lambda_, config.optimizer.name, config.optimizer.name)


def _write_samples(run, writer, workdir, step):
  if hasattr(run.data, "render"):
    # How many samples its picture shows is the dataset's call (a grid of 64
    # images, a scatter plot of thousands of points).
    num = getattr(run.data, "render_samples", 64)
    seed = run.config.seed + _FIXED_NOISE_SEED_OFFSET
    classes = run.data.spec.num_classes
    if classes and viz.is_image(run.data.spec.shape):  # one row per class
      per_class = min(classes, 10)
      samples = run.samples(classes * per_class, seed,
                            sampling.class_rows(range(classes), per_class))
      picture = viz.image_grid(samples, columns=per_class)
    else:
      picture = run.data.render(run.samples(num, seed))
    reporting.write_picture(writer, workdir, step, picture)


def _stop_on_sigterm():
  """SIGTERM behaves like Ctrl-C: the loop saves a checkpoint before exiting."""
  def handler(signum, frame):
    del signum, frame
    raise KeyboardInterrupt
  signal.signal(signal.SIGTERM, handler)


def _next_stop(config, step, profiler):
  """The first step after `step` at which the loop has work: a log, histogram,
  sample, checkpoint or eval step, the profiler's bounds, or the last step."""
  cfg = config.train
  every = [cfg.log_every, cfg.sample_every, cfg.checkpoint_every,
           cfg.histogram_every, config.eval.every]
  stops = [(step // e + 1) * e for e in every if e]
  stops += [b for b in (profiler.first, profiler.last) if b is not None and b > step]
  return min(stops + [cfg.steps])


def _run_steps(run, count):
  """`count` train steps; the last one's metrics."""
  trainer = run.trainer
  if run.config.train.steps_per_call == 1 or not hasattr(trainer, "train_steps"):
    # tf1_graph has no train_steps: one session call per step
    for _ in range(count):
      metrics = trainer.train_step(run.iterator, run.rng)
    return metrics
  return trainer.train_steps(run.iterator, run.rng, tf.constant(count, tf.int32))


def _loop(run, manager, evaluator, writer, workdir, profiler):
  cfg = run.config.train
  step = int(run.trainer.step.numpy())
  progress = reporting.Progress(step, cfg.steps)
  scalars = {}
  while step < cfg.steps:
    profiler.before(step)
    count = min(cfg.steps_per_call, _next_stop(run.config, step, profiler) - step)
    metrics = _run_steps(run, count)
    step += count
    profiler.after(step)
    if step % cfg.log_every == 0 or step == cfg.steps:
      scalars = reporting.to_host(metrics)
      logging.info(progress.line(step, scalars))
      reporting.write_scalars(writer, step, {**scalars, **progress.perf()})
      writer.flush()  # the bad step's scalars stay on disk if the guard stops the run
      run.trainer.guard.check()  # raises NonFiniteStop (train.on_nonfinite)
    if cfg.histogram_every and step % cfg.histogram_every == 0:
      dashboard.write_histograms(writer, step, run.trainer.gan)
    if step % cfg.sample_every == 0:
      _write_samples(run, writer, workdir, step)
    if step % cfg.checkpoint_every == 0:
      checkpoints.save(manager, run.trainer, step)
    every = run.config.eval.every
    if every and step % every == 0 and step != cfg.steps:
      evaluator.report(run.sampler, writer, workdir, step)
  return step, scalars


def train_and_evaluate(config, workdir, allow_config_change=False, profile_steps=None):
  """Trains a checked `config` in `workdir`, resuming from its newest intact checkpoint.

  Plugins must be loaded already; `tfgan1.train_and_evaluate` does that.
  Returns the final evaluation record (also the last line of metrics.jsonl).
  Everything that can refuse (workdir, lock, config change, build, restore)
  runs before the first write, so a refused run changes nothing.
  """
  started = time.perf_counter()
  with console.plain_console():
    workdir_lib.check_writable(workdir)
    _warn_lambda_with_adaptive_optimizer(config)
    strategy = distribute.make(config)  # first: MultiWorkerMirroredStrategy must be
    # made before any other TF work. A multi_worker worker other than the chief
    # resumes from `workdir` but writes to a folder of its own.
    out = distribute.output_dir(strategy, workdir)
    with workdir_lib.Lock(out) as lock:
      latest = checkpoints.find_intact(workdir)
      start = checkpoints.step_of(latest) if latest else 0
      keep_old = latest is not None and history.compare(workdir, config, allow_config_change)
      done = latest and history.finished_record(workdir, start, config.train.steps)
      if done:
        logging.info("already finished at step %d; raise train.steps with --set to "
                     "train further", start)
        return done
      run = native_log.quiet_call(make_run, config, strategy)  # starts TF's runtime
      if latest:
        checkpoints.restore(run.checkpoint, latest)
      with workdir_lib.disk_full_is_one_line(out):
        lock.start()
        checkpoints.clean_leftovers(out)
        history.record(out, config, start, keep_old)
        manager = checkpoints.manager(run.checkpoint, out, config.train.keep_checkpoints,
                                      resumed=latest if out == workdir else None)
        with console.log_file(out):
          for line in console.banner(run, out, latest, tf):
            logging.info(line)
          return _train(run, manager, out, profile_steps, started)


def _train(run, manager, workdir, profile_steps, started):
  config = run.config
  evaluator = evaluation.Evaluation(config, run.data)
  evaluator.keep_best(run.checkpoint, workdir)
  writer = tf.summary.create_file_writer(workdir)
  dashboard.write_run_info(writer, config, int(run.trainer.step.numpy()))
  profiler = dashboard.Profiler(profile_steps, workdir)
  _stop_on_sigterm()
  try:
    step, scalars = _loop(run, manager, evaluator, writer, workdir, profiler)
  except KeyboardInterrupt:
    profiler.stop()
    step = int(run.trainer.step.numpy())
    logging.warning("interrupted at step %d: saving a checkpoint to resume from", step)
    checkpoints.save(manager, run.trainer, step)
    writer.flush()
    raise
  if not (manager.latest_checkpoint or "").endswith(f"-{step}"):
    checkpoints.save(manager, run.trainer, step)
  if step % config.train.sample_every:  # else the loop just wrote this step's
    _write_samples(run, writer, workdir, step)
  record = evaluator.report(run.sampler, writer, workdir, step)
  writer.close()  # flushes; an in-process caller may start many runs
  logging.info(console.summary(step, time.perf_counter() - started, record, scalars))
  return record
