"""The run loop: build, resume, train, log, checkpoint, sample, evaluate."""
import os
import signal

from absl import logging

from tfgan1 import build
from tfgan1 import checkpoints
from tfgan1 import config as config_lib
from tfgan1 import reporting
from tfgan1 import restore
from tfgan1 import sampling
from tfgan1 import viz
from tfgan1 import yamlio
from tfgan1.ema import GeneratorEMA
from tfgan1.engine import Trainer
from tfgan1.errors import UserError

tf = build.tf
_FIXED_NOISE_SEED_OFFSET = 1_000_003  # fixed-noise grid: apart from the train RNG


class Run:
  """Everything a run holds, built before the workdir is touched."""

  def __init__(self, config):
    self.config = config
    built = build.everything(config)
    self.data = built.data
    ema = None
    if config.ema is not None:
      ema = GeneratorEMA(built.gan.generator, build.keras, config.ema.decay,
                         config.ema.start)
    self.trainer = Trainer(built.gan, config.train, built.optimizers,
                           built.noise_fn, ema)
    self.rng = tf.random.Generator.from_seed(config.seed)
    self.iterator = iter(self.data.dataset(config.train.batch_size, config.seed))
    self.checkpoint = checkpoints.make(self.trainer, self.rng, self.iterator)

  @property
  def sampler(self):
    """The generator used for samples and evaluation: the EMA one when enabled."""
    t = self.trainer
    return t.ema.model if t.ema is not None else t.gan.generator

  def samples(self, num, seed, labels=None):
    """Samples of the sampler; a conditional run cycles through the classes."""
    classes = self.data.spec.num_classes
    if classes and labels is None:
      labels = sampling.class_labels(num, classes)
    return restore.sample(self.config, self.sampler, num, seed, labels)


def _warn_lambda_with_adaptive_optimizer(config):
  """lambda is a learning-rate ratio only for plain SGD: say so once."""
  shared = not config_lib.separate_optimizers(config)
  if shared and config.train.lambda_ != 1.0 and config.optimizer.name.lower() != "sgd":
    logging.warning(
        "train.lambda=%g with one shared adaptive optimizer (%s) barely changes G's "
        "step: %s divides by the gradient's running scale. For TTUR give D and G "
        "their own learning rates (d_optimizer / g_optimizer), or use optimizer.name: sgd.",
        config.train.lambda_, config.optimizer.name, config.optimizer.name)


def _check_workdir(workdir):
  if os.path.exists(workdir) and not os.path.isdir(workdir):
    raise UserError(f"--workdir: {workdir!r} is a file; expected a folder")


def _evaluate(run, writer, workdir, step):
  metrics = {}
  if hasattr(run.data, "evaluate"):
    samples = run.samples(run.config.eval.num_samples, run.config.seed + 1)
    metrics = run.data.evaluate(samples)
  record = reporting.append_metrics(workdir, step, metrics)
  reporting.write_scalars(writer, step, {k: float(v) for k, v in metrics.items()}, "eval")
  logging.info("eval at step %d: %s", step, record)
  return record


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


def _loop(run, manager, writer, workdir):
  cfg = run.config.train
  step = int(run.trainer.step.numpy())
  progress = reporting.Progress(step, cfg.steps)
  while step < cfg.steps:
    metrics = run.trainer.train_step(run.iterator, run.rng)
    step += 1
    if step % cfg.log_every == 0 or step == cfg.steps:
      scalars = reporting.to_host(metrics)
      reporting.write_scalars(writer, step, scalars, "train")
      logging.info(progress.line(step, scalars))
    if step % cfg.sample_every == 0:
      _write_samples(run, writer, workdir, step)
    if step % cfg.checkpoint_every == 0:
      manager.save(checkpoint_number=step)
    if cfg.eval_every and step % cfg.eval_every == 0 and step != cfg.steps:
      _evaluate(run, writer, workdir, step)
  return step


def train_and_evaluate(config, workdir):
  """Trains `config` in `workdir`, resuming from its latest checkpoint if any.

  Returns the final evaluation record (also the last line of metrics.jsonl).
  """
  _check_workdir(workdir)
  _warn_lambda_with_adaptive_optimizer(config)
  run = Run(config)
  latest = checkpoints.latest(workdir)
  if latest:
    checkpoints.restore(run.checkpoint, latest)
    logging.info("resuming from %s at step %d", latest, int(run.trainer.step.numpy()))
  os.makedirs(workdir, exist_ok=True)
  with open(os.path.join(workdir, "config.yaml"), "w", encoding="utf-8") as f:
    f.write(yamlio.dump(config_lib.to_dict(config)))
  manager = checkpoints.manager(run.checkpoint, workdir, config.train.keep_checkpoints)
  writer = tf.summary.create_file_writer(workdir)
  _stop_on_sigterm()
  try:
    step = _loop(run, manager, writer, workdir)
  except KeyboardInterrupt:
    step = int(run.trainer.step.numpy())
    logging.warning("interrupted at step %d: saving a checkpoint to resume from", step)
    manager.save(checkpoint_number=step)
    writer.flush()
    raise
  if not (manager.latest_checkpoint or "").endswith(f"-{step}"):
    manager.save(checkpoint_number=step)
  if step % config.train.sample_every:  # else the loop just wrote this step's
    _write_samples(run, writer, workdir, step)
  record = _evaluate(run, writer, workdir, step)
  writer.flush()
  return record
