"""The train step: the update rule's `update` under one `tf.function` boundary.

The trainer owns what every rule shares: the networks (`gan`), the optimizers
by role, the step counter, the guard (finite check and loss scale) and the EMA.
The rule (`tfgan1.engine.rules`) decides how D and G move.

The step is plain Python under one `tf.function(jit_compile=...)` boundary; it
returns a flat dict of scalar tensors that the loop fetches only when it logs.
Reading data and drawing noise happen outside that boundary (in a thin outer
`tf.function`), since iterators and stateful RNG cannot be XLA-compiled.

Every rule's update is conditional on device (`tfgan1.engine.guard`): a step
whose losses or gradients are not finite changes no weight of either network,
and one dynamic loss scale (float16 policies) covers the whole step.
"""
from tfgan1 import tfimport
from tfgan1.engine import distribute
from tfgan1.engine.guard import StepGuard, snapshot
from tfgan1.engine.rules import rule_class
from tfgan1.errors import UserError
from tfgan1.gan import discriminator_calls

tf = tfimport.tensorflow()


class Trainer:
  """Owns the optimizers, the step counter and the compiled train step."""

  def __init__(self, gan, train_cfg, optimizers, noise_fn, ema=None, scaling=None,
               strategy=None):
    """`optimizers`: `tfgan1.engine.optimizers.OptimizerRoles`; `scaling`: the
    precision's dynamic loss-scale settings, or None. Under a `strategy` (None:
    one device), build the Trainer in its scope."""
    self.gan = gan
    self.strategy = strategy
    self.cfg = train_cfg
    self.optimizers = optimizers
    self.noise_fn = noise_fn
    self.ema = ema
    self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
    self.guard = StepGuard(train_cfg.on_nonfinite, train_cfg.max_skipped_steps,
                           scaling, replicated=strategy is not None)
    gan.input_gradient_scale = self.guard.scaler.scale if self.guard.dynamic else None
    self.d_vars = list(gan.discriminator.trainable_variables)
    self.g_vars = list(gan.generator.trainable_variables)
    optimizers.build(self.d_vars, self.g_vars)
    # Layers with per-update state (spectral norm's power iteration) refresh it
    # once per D update, so every D call within a step is the same function;
    # G's (BigGAN's spectral norm) move at the same time.
    self._d_hooks = [layer.tfgan1_after_update
                     for model in (gan.discriminator, gan.generator)
                     for layer in model._flatten_layers(include_self=False)  # pylint: disable=protected-access
                     if hasattr(layer, "tfgan1_after_update")]
    self.rule_class = rule_class(train_cfg.rule)
    self.rule = self.rule_class(self)
    self._update = distribute.replica_function(strategy, self.rule.update,
                                               train_cfg.jit_compile)
    self.train_step = tf.function(self._outer_step)
    self.train_steps = tf.function(self._outer_steps)

  def rule_for(self, name):
    """The rule `name` over this trainer's networks and optimizers (for `--verify`)."""
    return self.rule if name == self.cfg.rule else rule_class(name)(self)

  @property
  def batches_per_step(self):
    return self.rule_class.batches_per_step(self.cfg)

  def _outer_step(self, iterator, rng):
    return self.update_on([next(iterator) for _ in range(self.batches_per_step)], rng)

  def _outer_steps(self, iterator, rng, count):
    """`count` steps (an int32 tensor, at least 1) in one call; the last one's metrics.

    One call per chunk spares the run loop's Python and the function call per
    step (Keras' steps_per_execution). `count` is a tensor, so chunks of every
    length share one trace; each step draws the same data and noise as it would
    one call at a time.
    """
    metrics = self._outer_step(iterator, rng)  # the loop's carried structure
    def body(i, unused_metrics):
      return i + 1, self._outer_step(iterator, rng)
    # One iteration at a time: each step reads the weights the one before wrote.
    _, metrics = tf.while_loop(lambda i, _: i < count, body, (tf.constant(1), metrics),
                               parallel_iterations=1)
    return metrics

  def update_on(self, reals, rng):
    """One update on the given real batches, noise and penalty seed from `rng`.

    The step the run loop takes (after reading its batches), and what
    `tfgan1.keras.GAN.train_step` calls with the batch Keras hands it.
    """
    # As many noise rows as real samples: Keras may hand a short last batch.
    first = tf.nest.flatten(reals[0])[0]
    n = first.shape[0] if first.shape[0] is not None else tf.shape(first)[0]
    zs = [self.noise_fn(rng, n) for _ in range(self.rule_class.noises_per_step(self.cfg))]
    seed = tf.cast(rng.make_seeds(1)[:, 0], tf.int32)
    rates = self.optimizers.rates()  # read before this step's update
    if self.strategy is None:
      return {**self._update(reals, zs, seed), **rates}
    metrics = self.strategy.run(self._replica_update,
                                (distribute.split(self.strategy, (reals, zs)), seed))
    return {**distribute.mean(self.strategy, metrics), **rates}

  def _replica_update(self, shards, seed):
    return self._update(*shards, distribute.replica_seed(seed))

  # What the rules share.

  def after_d_update(self):
    for hook in self._d_hooks:
      hook()
    hook = getattr(self.gan.family, "after_discriminator_update", None)
    if hook is not None:
      hook(self.gan.discriminator)

  def finish(self, metrics, ok):
    """Counts the step, moves the EMA after a kept update, adds the guard's metrics."""
    self.step.assign_add(1)
    metrics.update(self.gan.after_step(metrics, ok))  # LeCam's anchors, ADA's p
    if self.ema is not None:
      self.guard.after_update(ok, lambda: self.ema.update(self.step))
    metrics.update(self.guard.metrics())
    return metrics

  def forward_state(self):
    """Non-trainable state the forward pass moves (BatchNorm statistics), saved
    before it so that a skipped step can put it back."""
    if self.guard.replicated:  # the update cannot be conditional: save all it writes
      variables = self.state()
    else:
      models = (self.gan.discriminator, self.gan.generator)
      variables = [v for m in models for v in m.non_trainable_variables]
    return variables, snapshot(variables)

  def state(self):
    """Every variable a step may write: both networks and their optimizers."""
    models = (self.gan.discriminator, self.gan.generator)
    return ([v for m in models for v in m.variables]
            + [v for opt in self.optimizers.values() for v in opt.variables])

  def per_sample(self, z=None):
    """Whether D scores each sample on its own (the `shared` form's premise)."""
    fake, labels = self.gan.g_call(z if z is not None else self.noise_fn(
        tf.random.Generator.from_seed(0), self.cfg.batch_size))
    try:
      discriminator_calls.check_per_sample(self.gan.discriminator, fake, labels)
    except UserError:
      return False
    return True
