"""The run loop: build, resume, train, log, checkpoint, sample, evaluate.

It names no backend: whatever `train.backend` builds offers the same parts
(`tfgan1.backends.protocol.Backend`).
"""
import contextlib
import signal
import time

from absl import logging

from tfgan1 import backends
from tfgan1 import tfimport
from tfgan1.engine import distribute
from tfgan1.errors import Stopped
from tfgan1.engine import optimizers
from tfgan1.engine import verify
from tfgan1.evaluation import sampling
from tfgan1.evaluation.loop import Evaluation
from tfgan1.output import console
from tfgan1.output import cpp_log_filter
from tfgan1.output import dashboard
from tfgan1.output import pictures
from tfgan1.output import reporting
from tfgan1.registry import contracts
from tfgan1.runner import checkpoints
from tfgan1.runner import cluster
from tfgan1.runner import resume_record
from tfgan1.runner import workdir as workdir_lib

tf = tfimport.tensorflow()
_FIXED_NOISE_SEED_OFFSET = 1_000_003  # fixed-noise grid: apart from the train RNG


def _warn_lambda_with_adaptive_optimizer(config):
  """lambda is a learning-rate ratio only for plain SGD: say so once."""
  if optimizers.joint(config) and config.train.lambda_ != 1.0 and config.optimizer.name.lower() != "sgd":
    logging.warning(
        "train.lambda=%g with one shared adaptive optimizer (%s) barely changes G's "
        "step: %s divides by the gradient's running scale. For TTUR give D and G "
        "their own learning rates (d_optimizer / g_optimizer), or use optimizer.name: sgd.",
        config.train.lambda_, config.optimizer.name, config.optimizer.name)


def _warn_random_discriminator(run):
  """Dropout or noise in D breaks the one-step forms that call D more than once."""
  train = run.config.train
  names = verify.random_layers(run.networks.discriminator)
  if not names or train.rule != "one_step":
    return
  exact = " and ".join(verify.ONE_CALL_FORMS)
  verdict = ("is one of them" if train.one_step_form in verify.ONE_CALL_FORMS
             else "is not: D's gradient is not L_D's (--verify shows by how much)")
  logging.warning(
      "discriminator: %s draw new random numbers on every call; of the one-step forms "
      "only %s (one D call per step) stay exact, and this run's form %r %s",
      ", ".join(names), exact, train.one_step_form, verdict)


def _write_samples(run, writer, workdir, step):
  if contracts.hook(run.data, "dataset", "render") is not None:
    # How many samples its picture shows is the dataset's call (a grid of 64
    # images, a scatter plot of thousands of points).
    num = contracts.hook(run.data, "dataset", "render_samples")
    seed = run.config.seed + _FIXED_NOISE_SEED_OFFSET
    classes = run.data.spec.num_classes
    if classes and pictures.is_image(run.data.spec.shape):  # one row per class
      per_class = min(classes, 10)
      samples = run.sample(classes * per_class, seed,
                            sampling.class_rows(range(classes), per_class))
      picture = pictures.image_grid(samples, columns=per_class)
    else:
      picture = run.data.render(run.sample(num, seed))
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


def _stop_if_preempted(vote, run, manager, writer, profiler, step):
  """Under multi_worker, after each train call: when any worker had SIGTERM, every
  worker saves this step's checkpoint (once) and stops with RestartAll."""
  if vote is None or not vote.stopping():
    return
  profiler.stop()
  if not (manager.latest_checkpoint or "").endswith(f"-{step}"):
    checkpoints.save(manager, run, step)
  writer.flush()
  raise cluster.preempted(vote, step)


def _loop(run, manager, evaluator, writer, workdir, profiler, vote=None):
  cfg = run.config.train
  chief = vote is None or vote.chief
  step = run.step()
  progress = reporting.Progress(step, cfg.steps)
  scalars = {}
  while step < cfg.steps:
    profiler.before(step)
    count = min(cfg.steps_per_call, _next_stop(run.config, step, profiler) - step)
    metrics = run.train(count)
    step += count
    profiler.after(step)
    if step % cfg.log_every == 0 or step == cfg.steps:
      scalars = reporting.shown(reporting.to_host(metrics), run.config)
      logging.info(progress.line(step, scalars))
      reporting.write_scalars(writer, step, {**scalars, **progress.perf()})
      writer.flush()  # the bad step's scalars stay on disk if the guard stops the run
      run.check_finite()  # raises NonFiniteStop (train.on_nonfinite)
    if chief and cfg.histogram_every and step % cfg.histogram_every == 0:
      dashboard.write_histograms(writer, step, run.networks)
    if chief and step % cfg.sample_every == 0:
      _write_samples(run, writer, workdir, step)
    if step % cfg.checkpoint_every == 0:
      checkpoints.save(manager, run, step)
    every = run.config.eval.every
    if chief and every and step % every == 0 and step != cfg.steps:
      evaluator.report(run.sampler(), writer, workdir, step)
    _stop_if_preempted(vote, run, manager, writer, profiler, step)
  return step, scalars


def train_and_evaluate(config, workdir, allow_config_change=False, profile_steps=None):
  """Trains a checked `config` in `workdir`, resuming from its newest intact checkpoint.

  Plugins must be loaded already; `tfgan1.train_and_evaluate` does that.
  Returns the final evaluation record (also the last line of metrics.jsonl).
  Everything that can refuse (workdir, lock, config change, build, restore)
  runs before the first write, so a refused run changes nothing.
  """
  started = time.perf_counter()
  with console.plain_console() as held:
    workdir_lib.check_writable(workdir)
    _warn_lambda_with_adaptive_optimizer(config)
    strategy = distribute.make(config)  # first: MultiWorkerMirroredStrategy must be
    # made before any other TF work. A multi_worker worker other than the chief
    # resumes from `workdir` but writes to a folder of its own.
    out = distribute.output_dir(strategy, workdir)
    chief = out == workdir
    with workdir_lib.Lock(out) as lock:
      latest = checkpoints.find_intact(workdir)
      start = checkpoints.step_of(latest) if latest else 0
      run = None
      if latest:
        resume_record.check_backend(workdir, config)
      if latest and resume_record.changed(workdir, config):
        # Building checks every value: a bad one is refused as such, not judged a change.
        run = cpp_log_filter.quiet_call(backends.make, config, strategy)
      keep_old = latest is not None and resume_record.compare(workdir, config, allow_config_change)
      done = latest and resume_record.finished_record(workdir, start, config.train.steps)
      if done:
        logging.info("already finished at step %d; raise train.steps with --set to "
                     "train further", start)
        return done
      run = run or cpp_log_filter.quiet_call(backends.make, config, strategy)  # starts TF's runtime
      if latest:
        checkpoints.restore(run.checkpoint, latest)
        run.after_restore()
      with workdir_lib.disk_full_is_one_line(out):
        lock.start()
        checkpoints.clean_leftovers(out)
        if chief:  # the other workers write only their checkpoints (tf.distribute's need)
          resume_record.record(out, config, start, keep_old)
        manager = checkpoints.manager(run.checkpoint, out, config.train.keep_checkpoints,
                                      resumed=latest if out == workdir else None)
        with console.log_file(out, held) if chief else contextlib.nullcontext():
          for line in console.banner(run, out, latest, tf, strategy):
            logging.info(line)
          _warn_random_discriminator(run)
          try:
            return _train(run, manager, out, profile_steps, started, strategy)
          except tf.errors.OpError as e:
            lost = cluster.peer_lost(e, workdir) if strategy is not None else None
            if lost is None:
              raise
            raise lost from None


def _train(run, manager, workdir, profile_steps, started, strategy=None):
  config = run.config
  vote = cluster.stop_vote(strategy)
  if vote is None:
    _stop_on_sigterm()
  else:
    vote.install()
  if vote is not None and not vote.chief:
    writer = tf.summary.create_noop_writer()
    return _finish_worker(_loop(run, manager, None, writer, workdir,  # no evaluation
                                dashboard.Profiler(None, workdir), vote)[0], run, manager)
  evaluator = Evaluation(config, run.data)
  evaluator.keep_best(run.checkpoint, workdir)
  writer = tf.summary.create_file_writer(resume_record.events_dir(workdir))
  dashboard.write_run_info(writer, config, run.step())
  profiler = dashboard.Profiler(profile_steps, workdir)
  try:
    step, scalars = _loop(run, manager, evaluator, writer, workdir, profiler, vote)
  except KeyboardInterrupt:
    profiler.stop()
    step = run.step()
    logging.warning("interrupted at step %d: saving a checkpoint to resume from", step)
    checkpoints.save(manager, run, step)
    writer.flush()
    logging.info("stopped; run the same command again to resume")
    raise Stopped() from None
  if not (manager.latest_checkpoint or "").endswith(f"-{step}"):
    checkpoints.save(manager, run, step)
  if step % config.train.sample_every:  # else the loop just wrote this step's
    _write_samples(run, writer, workdir, step)
  record = evaluator.report(run.sampler(), writer, workdir, step)
  writer.close()  # flushes; an in-process caller may start many runs
  logging.info(console.summary(step, time.perf_counter() - started, record, scalars))
  return record


def _finish_worker(step, run, manager):
  """A multi_worker worker other than the chief: its last checkpoint (every worker
  saves, tf.distribute's rule), then one line; the chief evaluates and summarises."""
  if not (manager.latest_checkpoint or "").endswith(f"-{step}"):
    checkpoints.save(manager, run, step)
  logging.info("done: finished as worker %d at step %d; the chief writes the results",
               run.strategy.cluster_resolver.task_id, step)
  return {"step": step}
