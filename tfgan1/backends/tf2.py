"""`train.backend: tf2` (the default): the eager engine, its step under `tf.function`."""
from tfgan1 import tfimport
from tfgan1.backends.protocol import Backend, Supports, checkpoint_parts
from tfgan1.engine import assembly
from tfgan1.engine import distribute
from tfgan1.engine import ema as ema_lib
from tfgan1.engine import optimizers as optimizers_lib
from tfgan1.engine import preflight
from tfgan1.engine import verify as verify_lib
from tfgan1.engine.trainer import Trainer
from tfgan1.output import cpp_log_filter
from tfgan1.registry import RULE_MODULES, contracts

tf = tfimport.tensorflow()


class Run(Backend):
  """Everything a TF2 run holds, built before the workdir is touched."""
  name = "tf2"
  supports = Supports(rules=tuple(RULE_MODULES))

  def __init__(self, config, strategy=None):
    """`strategy`: from `distribute.make(config)`, made before any other TF work."""
    self.config = config
    self.strategy = strategy
    built = assembly.everything(config, strategy)
    preflight.check_shared_form(config, built.gan, *built.preview)
    self.data = built.data
    self.networks = built.gan
    with distribute.scope(strategy):
      ema = None
      if config.ema is not None:
        ema = ema_lib.from_config(built.gan.generator, assembly.keras, config, built.noise_fn)
      scaling = contracts.hook(built.precision, "precision", "loss_scale")
      self.trainer = Trainer(built.gan, config.train, built.optimizers, built.noise_fn,
                             ema, scaling, strategy)
    self.step_variable = self.trainer.step
    self.ema, self.optimizers = self.trainer.ema, self.trainer.optimizers
    self.rng = tf.random.Generator.from_seed(config.seed)
    self.iterator = iter(self.data.dataset(config.train.batch_size, config.seed))
    t = self.trainer
    self.checkpoint = tf.train.Checkpoint(**checkpoint_parts(
        t.step, t.gan, t.optimizers, t.ema, self.rng, self.iterator, t.guard.checkpointed()))
    # The first call builds and optimizes the step's graph: see cpp_log_filter.
    self._one = cpp_log_filter.quiet_first_call(t.train_step)
    self._many = cpp_log_filter.quiet_first_call(t.train_steps)

  def train(self, count):
    if self.config.train.steps_per_call == 1:  # one call a step: count is 1
      for _ in range(count):
        metrics = self._one(self.iterator, self.rng)
      return metrics
    return self._many(self.iterator, self.rng, tf.constant(count, tf.int32))

  def sampler(self):
    """The EMA generator when enabled, its BatchNorm statistics calibrated (see
    `tfgan1.engine.ema`), else G."""
    t = self.trainer
    return t.ema.calibrate(self.step()) if t.ema is not None else t.gan.generator

  def check_finite(self):
    self.trainer.guard.check()  # raises NonFiniteStop (train.on_nonfinite)

  def before_save(self, step):
    if self.trainer.ema is not None:
      self.trainer.ema.calibrate(step)  # a tool reloading it samples what the run sampled

  def after_restore(self):
    optimizers_lib.reapply_learning_rates(self.config, self.trainer.optimizers)

  @classmethod
  def verify(cls, config):
    return verify_lib.main(config)


BACKEND = Run
