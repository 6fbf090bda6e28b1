"""The train step: one `tf.function` per update rule, all from one loss family.

- `one_step`: the single one-step loss, one `tape.gradient` over D and G weights,
  one shared optimizer (lambda scales G's gradient) or one optimizer per network
  applied to the two halves of the one gradient list (TTUR with Adam).
- `simultaneous`: one forward pass, a persistent tape, two gradient calls.
- `alternating`: n_D D updates, then n_G G updates, each on fresh noise.

The step is plain Python under one `tf.function(jit_compile=...)` boundary; it
returns a flat dict of scalar tensors that the loop fetches only when it logs.
Reading data and drawing noise happen outside that boundary (in a thin outer
`tf.function`), since iterators and stateful RNG cannot be XLA-compiled.

Every rule's update is conditional on device (`loss_scale.StepGuard`): a step
whose losses or gradients are not finite changes no weight of either network,
and one dynamic loss scale (float16 policies) covers the whole step.
"""
from tfgan1 import tfimport

tf = tfimport.tensorflow()

from tfgan1 import distribute
from tfgan1 import loss_scale
from tfgan1 import losses
from tfgan1 import schedules


def _zeros_for_none(grads, variables):
  return [tf.zeros_like(v) if g is None else g for g, v in zip(grads, variables)]


def _squares(grads):
  """A [1] tensor: the sum of squares of every gradient entry, in float32.

  One pass over the gradients serves both the reported norm (its square root)
  and the finite check (the sum is nan or inf when any entry is): a square sum
  that overflows float32 (entries beyond ~1e19) counts as non-finite too.
  """
  if not grads:
    return tf.zeros([1])
  return tf.reshape(tf.add_n([tf.reduce_sum(tf.square(tf.cast(g, tf.float32)))
                              for g in grads]), [1])


def _checked(metrics, d_grads, g_grads):
  """(the guard's part for one update, {grad_norm_d, grad_norm_g})."""
  d_sq, g_sq = _squares(d_grads), _squares(g_grads)
  norms = {"grad_norm_d": tf.sqrt(d_sq[0]), "grad_norm_g": tf.sqrt(g_sq[0])}
  return (metrics, [d_sq], [g_sq]), norms


class Trainer:
  """Owns the optimizers, the step counter and the compiled train step."""

  def __init__(self, gan, train_cfg, optimizers, noise_fn, ema=None, scaling=None,
               strategy=None):
    """`optimizers` is {"shared": opt} (one_step only) or {"d": opt, "g": opt};
    `scaling` is the precision plugin's dynamic loss-scale settings, or None.

    Under a `strategy` (None: one device), build the Trainer in its scope.
    """
    self.gan = gan
    self.strategy = strategy
    self.cfg = train_cfg
    self.optimizers = optimizers
    self.noise_fn = noise_fn
    self.ema = ema
    self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
    self.guard = loss_scale.StepGuard(train_cfg.on_nonfinite, train_cfg.max_skipped_steps,
                                      scaling, replicated=strategy is not None)
    gan.input_gradient_scale = self.guard.scale if self.guard.dynamic else None
    self.d_vars = list(gan.discriminator.trainable_variables)
    self.g_vars = list(gan.generator.trainable_variables)
    if "shared" in optimizers:
      optimizers["shared"].build(self.d_vars + self.g_vars)
    else:
      optimizers["d"].build(self.d_vars)
      optimizers["g"].build(self.g_vars)
    # Layers with per-update state (spectral norm's power iteration) refresh it
    # once per D update, so every D call within a step is the same function.
    self._d_hooks = [layer.tfgan1_after_update
                     for layer in gan.discriminator._flatten_layers(include_self=False)  # pylint: disable=protected-access
                     if hasattr(layer, "tfgan1_after_update")]
    rule = {"one_step": self._one_step, "simultaneous": self._simultaneous,
            "alternating": self._alternating}[train_cfg.rule]
    self._update = distribute.replica_function(strategy, rule, train_cfg.jit_compile)
    self.train_step = tf.function(self._outer_step)
    self.train_steps = tf.function(self._outer_steps)

  @property
  def batches_per_step(self):
    return self.cfg.n_d if self.cfg.rule == "alternating" else 1

  @property
  def noises_per_step(self):
    return self.cfg.n_d + self.cfg.n_g if self.cfg.rule == "alternating" else 1

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
    zs = [self.noise_fn(rng, n) for _ in range(self.noises_per_step)]
    seed = tf.cast(rng.make_seeds(1)[:, 0], tf.int32)
    rates = schedules.current_rates(self.optimizers)  # read before this step's update
    if self.strategy is None:
      return {**self._update(reals, zs, seed), **rates}
    metrics = self.strategy.run(self._replica_update,
                                (distribute.split(self.strategy, (reals, zs)), seed))
    return {**distribute.mean(self.strategy, metrics), **rates}

  def _replica_update(self, shards, seed):
    return self._update(*shards, distribute.replica_seed(seed))

  def _after_d_update(self):
    for hook in self._d_hooks:
      hook()
    hook = getattr(self.gan.family, "after_discriminator_update", None)
    if hook is not None:
      hook(self.gan.discriminator)

  def _finish(self, metrics, ok):
    self.step.assign_add(1)
    if self.ema is not None and self.guard.replicated:
      self.ema.update(self.step)  # no tf.cond here (see StepGuard); a skipped step
      # left G's weights as they were, so the average only moves towards them
    elif self.ema is not None:
      tf.cond(ok, lambda: loss_scale.run(lambda: self.ema.update(self.step)),
              lambda: tf.constant(False))
    metrics.update(self.guard.metrics())
    return metrics

  def _apply(self, name, grads, variables):
    grads = distribute.scale_gradients(grads)  # replicas: mean over the global batch
    self.optimizers[name].apply_gradients(zip(grads, variables))

  def one_step_gradients(self, real, z, seed, form=None):
    """The one loss's gradients: (D grads, G grads, metrics), nothing applied."""
    with tf.GradientTape() as tape:
      total, metrics = losses.one_step_objective(
          self.gan, real, z, seed, self.step, self.cfg.lambda_,
          form or self.cfg.one_step_form)
      scaled = self.guard.scale_loss(total)
    grads = tape.gradient(scaled, self.d_vars + self.g_vars)
    grads = self.guard.unscale(_zeros_for_none(grads, self.d_vars + self.g_vars))
    n = len(self.d_vars)
    return grads[:n], grads[n:], metrics

  def _forward_state(self):
    """Non-trainable state the forward pass moves (BatchNorm statistics), saved
    before it so that a skipped step can put it back."""
    if self.guard.replicated:  # the update cannot be conditional: save all it writes
      variables = self._state()
    else:
      models = (self.gan.discriminator, self.gan.generator)
      variables = [v for m in models for v in m.non_trainable_variables]
    return variables, loss_scale.snapshot(variables)

  def _one_step(self, reals, zs, seed):
    forward_state = self._forward_state()
    d_grads, g_grads, metrics = self.one_step_gradients(reals[0], zs[0], seed)
    # No weight may change before every gradient is computed. The stateless G
    # term reads D's weights on a path that D's own gradients never touch, so
    # without this fence graph scheduling may run that read after D's update
    # (seen: a few G gradient entries computed from updated D weights).
    def update():
      if "shared" in self.optimizers:
        self._apply("shared", d_grads + g_grads, self.d_vars + self.g_vars)
      else:
        self._apply("d", d_grads, self.d_vars)
        self._apply("g", g_grads, self.g_vars)
      self._after_d_update()
    part, norms = _checked(metrics, d_grads, g_grads)
    with tf.control_dependencies(d_grads + g_grads):
      ok = self.guard.apply_if_finite(update, [part], self.step + 1, forward_state)
    metrics.update(norms)
    return self._finish(metrics, ok)

  def simultaneous_gradients(self, real, z, seed):
    """(D grads of L_D, G grads of L_G, metrics) from one forward pass."""
    with tf.GradientTape(persistent=True) as tape:
      loss_d, loss_g, metrics = losses.both_objectives(
          self.gan, real, z, seed, self.step)
      loss_d, loss_g = self.guard.scale_loss(loss_d), self.guard.scale_loss(loss_g)
    d_grads = self._grads(tape, loss_d, self.d_vars)
    g_grads = self._grads(tape, loss_g, self.g_vars)
    del tape
    return d_grads, g_grads, metrics

  def _grads(self, tape, scaled_loss, variables):
    return self.guard.unscale(_zeros_for_none(tape.gradient(scaled_loss, variables),
                                              variables))

  def _simultaneous(self, reals, zs, seed):
    forward_state = self._forward_state()
    d_grads, g_grads, metrics = self.simultaneous_gradients(reals[0], zs[0], seed)
    def update():
      self._apply("d", d_grads, self.d_vars)
      self._apply("g", g_grads, self.g_vars)
      self._after_d_update()
    part, norms = _checked(metrics, d_grads, g_grads)
    with tf.control_dependencies(d_grads + g_grads):  # as in _one_step
      ok = self.guard.apply_if_finite(update, [part], self.step + 1, forward_state)
    metrics.update(norms)
    return self._finish(metrics, ok)

  def _state(self):
    """Every variable a step may write: both networks and their optimizers."""
    models = (self.gan.discriminator, self.gan.generator)
    return ([v for m in models for v in m.variables]
            + [v for opt in self.optimizers.values() for v in opt.variables])

  def _alternating(self, reals, zs, seed):
    # Each update needs the one before, so the check comes after all of them:
    # a bad step puts every variable back (both networks, both optimizers).
    state = self._state()
    saved = loss_scale.snapshot(state)
    parts = []
    for i in range(self.cfg.n_d):  # unrolled: n_d and n_g are small constants
      with tf.GradientTape() as tape:
        loss, metrics = losses.discriminator_objective(
            self.gan, reals[i], zs[i], tf.random.experimental.stateless_fold_in(seed, i),
            self.step)
        loss = self.guard.scale_loss(loss)
      d_grads = self._grads(tape, loss, self.d_vars)
      self._apply("d", d_grads, self.d_vars)
      self._after_d_update()
      part, d_norm = _checked(dict(metrics), d_grads, [])
      parts.append(part)
    for j in range(self.cfg.n_g):
      with tf.GradientTape() as tape:
        loss_g = losses.generator_objective(
            self.gan, reals[-1], zs[self.cfg.n_d + j],
            tf.random.experimental.stateless_fold_in(seed, self.cfg.n_d + j))
        scaled = self.guard.scale_loss(loss_g)
      g_grads = self._grads(tape, scaled, self.g_vars)
      self._apply("g", g_grads, self.g_vars)
      part, g_norm = _checked({"loss_g": loss_g}, [], g_grads)
      parts.append(part)
    ok = self.guard.undo_unless_finite(parts, state, saved, self.step + 1)
    metrics.update(loss_g=loss_g, grad_norm_d=d_norm["grad_norm_d"],
                   grad_norm_g=g_norm["grad_norm_g"])
    return self._finish(metrics, ok)
