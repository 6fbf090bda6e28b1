"""The legacy TF1 backend: the three update rules as ops of a `tf.compat.v1` graph.

The graph lives in a `tf.Graph` of its own with its own `tf.compat.v1.Session`,
so the rest of the process stays eager. Batches, noise and the penalty seed come
in through placeholders (the `feed_dict` idiom). The networks are the same
architecture plugins built with `tf_keras`; the losses are the objectives of
`tfgan1.gan.objectives` over the same loss-family and penalty plugin objects
as TF2.

- `simultaneous`: `D_solver` and `G_solver`, fetched in one
  `sess.run([D_solver, G_solver])`. TF runs fetched ops in no set order, so both
  applies sit behind a fence (`tf.control_dependencies` on every gradient and
  metric): each gradient is computed from the pre-update weights.
- `one_step`: one `solver` on the classic three-D-call one-step loss (Keras 3's
  `stateless_call` has no tf_keras twin), one optimizer or one per network on the
  two halves of one gradient list, behind the same fence.
- `alternating`: `D_solver` run n_d times, then `G_solver` n_g times.

tf_keras in graph mode does not run BatchNorm's moving-average updates by
itself; the Assign ops each network call creates are collected and run with the
solver of their network, in call order. Per-update hooks (spectral norm's
`tfgan1_after_update`, WGAN clipping) and the EMA are captured the same way.
"""
from tfgan1 import tfimport
from tfgan1.backends.tf1_graph import optimizers as tf1_optimizers
from tfgan1.engine import assembly
from tfgan1.gan import objectives
from tfgan1.gan.networks import Networks
from tfgan1.registry import contracts

tf = tfimport.tensorflow()
v1 = tf.compat.v1


RULES = ("one_step", "simultaneous", "alternating")  # what GraphTrainer builds


def tf_keras():
  import tf_keras as module  # pylint: disable=g-import-not-at-top  (legacy backend only)
  return module


def captured(fn, after=()):
  """(fn(), the stateful Assign ops fn created), those created after `after`.

  Plugins and Keras layers write variables with `variable.assign(...)`, which in
  graph mode only builds an op; collecting what they built lets the solver run it.
  """
  graph = v1.get_default_graph()
  with tf.control_dependencies(list(after)):
    start = len(graph.get_operations())
    result = fn()
    new = graph.get_operations()[start:]
  return result, [op for op in new if op.type.startswith("Assign")]


def chain(ops):
  """Orders `ops` as they were created (as TF2's automatic control dependencies
  would), so two BatchNorm updates of one variable never interleave."""
  for prev, op in zip(ops, ops[1:]):
    op._add_control_input(prev)  # pylint: disable=protected-access
  return ops


def _session_config():
  """Grappler's remapper fails on the spectral-norm D's backward pass ("fanout ...
  exist for missing node ...BiasAdd") and logs an error on every run; it then
  leaves that graph unfused anyway, so it is turned off."""
  config = v1.ConfigProto()
  off = config.graph_options.rewrite_options.OFF
  config.graph_options.rewrite_options.remapping = off
  return config


def _owned(ops, model):
  handles = {v.handle.name for v in model.variables}
  return [op for op in ops if op.inputs and op.inputs[0].name in handles]


def _grads(loss, variables):
  grads = tf.gradients(loss, variables)
  return [tf.zeros_like(v) if g is None else g for g, v in zip(grads, variables)]


def _fence(grads, metrics):
  """Every gradient and metric of the step, computed before any weight changes."""
  return tf.control_dependencies(grads + list(metrics.values()))


def _with_norms(metrics, d_grads, g_grads):
  return dict(metrics, grad_norm_d=tf.linalg.global_norm(d_grads),
              grad_norm_g=tf.linalg.global_norm(g_grads))


class GraphTrainer:
  """Builds one rule's graph; `run(feeds...)` executes one step of it.

  Attributes: `graph`, `session`, `generator`, `discriminator` (tf_keras), `ema`
  (a tf_keras GeneratorEMA or None), `step` (graph int64 variable), `solvers`
  ({"D_solver", "G_solver"} or {"solver"}), `optimizers` ({role: v1 optimizer}).
  """

  def __init__(self, config, spec, family, penalty_terms):
    self.cfg = config.train
    self.graph = tf.Graph()
    with self.graph.as_default():
      keras = tf_keras()
      generator, discriminator = assembly.models(config, spec, keras)
      self.generator, self.discriminator = generator, discriminator
      self.gan = Networks(generator, discriminator, family, list(penalty_terms),
                          g_top_k=assembly.g_top_k(self.cfg.g_top_k, family,
                                                   config.loss.name))
      self.d_vars = list(discriminator.trainable_variables)
      self.g_vars = list(generator.trainable_variables)
      self.optimizers = tf1_optimizers.make(config)
      self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
      self._placeholders(config, spec)
      self.session = v1.Session(graph=self.graph, config=_session_config())
      self.ema = None
      if config.ema is not None:
        from tfgan1.engine.ema import GeneratorEMA  # pylint: disable=g-import-not-at-top
        with self.session.as_default():  # tf_keras' set_weights runs in the default session
          self.ema = GeneratorEMA(generator, keras, config.ema.decay, config.ema.start)
      {"one_step": self._build_one_step, "simultaneous": self._build_simultaneous,
       "alternating": self._build_alternating}[self.cfg.rule]()  # RULES below
      self.variables = v1.global_variables()
      self._values_in = [v1.placeholder(v.dtype.base_dtype, v.shape) for v in self.variables]
      self._load = tf.group(*[v.assign(p) for v, p in zip(self.variables, self._values_in)])
      self.session.run(v1.global_variables_initializer())
      self.graph.finalize()  # a step that adds ops would be a bug: fail loudly

  def values(self):
    """Every graph variable's value (numpy), in `self.variables` order."""
    return self.session.run(self.variables)

  def load(self, values):
    """Sets every graph variable, in `self.variables` order, in one session call."""
    self.session.run(self._load, dict(zip(self._values_in, values)))

  def _placeholders(self, config, spec):
    shape = [self.cfg.batch_size, *spec.shape]
    self.real = v1.placeholder(tf.float32, shape, name="real")
    self.z = v1.placeholder(tf.float32, [self.cfg.batch_size, config.noise.dim], name="z")
    self.seed = v1.placeholder(tf.int32, [2], name="seed")

  def _after_d_update(self, after):
    """Spectral-norm hooks (D's and G's), then the loss family's (WGAN
    clipping), after `after`."""
    hooks = [layer.tfgan1_after_update
             for model in (self.discriminator, self.gan.generator)
             for layer in model._flatten_layers(include_self=False)  # pylint: disable=protected-access
             if hasattr(layer, "tfgan1_after_update")]
    _, ops = captured(lambda: [hook() for hook in hooks], after)
    family_hook = contracts.hook(self.gan.family, "loss", "after_discriminator_update")
    _, more = captured(lambda: family_hook(self.discriminator), ops or after)
    ops += more
    return ops

  def _finish(self, after):
    """step += 1, then the EMA of G's updated weights."""
    with tf.control_dependencies(after):
      new_step = self.step.assign_add(1)
    ops = [new_step.op]
    if self.ema is not None:
      _, ema_ops = captured(lambda: self.ema.update(new_step), [new_step])
      ops += ema_ops
    return tf.group(*ops, name="finish")

  def _apply(self, role, grads, variables):
    return self.optimizers[role].apply_gradients(zip(grads, variables), name=f"{role}_apply")

  def _build_one_step(self):
    (total, metrics), updates = captured(lambda: objectives.one_step_objective(
        self.gan, self.real, self.z, self.seed, self.step, self.cfg.lambda_, "classic"))
    grads = _grads(total, self.d_vars + self.g_vars)
    d_grads, g_grads = grads[:len(self.d_vars)], grads[len(self.d_vars):]
    with _fence(grads, metrics):
      if "joint" in self.optimizers:
        applies = [self._apply("joint", grads, self.d_vars + self.g_vars)]
      else:
        applies = [self._apply("d", d_grads, self.d_vars), self._apply("g", g_grads, self.g_vars)]
    hooks = self._after_d_update(applies)
    self.solvers = {"solver": tf.group(*applies, *hooks, *chain(updates), name="solver")}
    self.gradients = {"d": d_grads, "g": g_grads}
    self.metrics = _with_norms(metrics, d_grads, g_grads)
    self.finish = self._finish(list(self.solvers.values()))

  def _build_simultaneous(self):
    (loss_d, loss_g, metrics), updates = captured(lambda: objectives.both_objectives(
        self.gan, self.real, self.z, self.seed, self.step))
    d_grads, g_grads = _grads(loss_d, self.d_vars), _grads(loss_g, self.g_vars)
    with _fence(d_grads + g_grads, metrics):  # without it G may read D's new weights
      d_apply = self._apply("d", d_grads, self.d_vars)
      g_apply = self._apply("g", g_grads, self.g_vars)
    hooks = self._after_d_update([d_apply])
    chain(updates)
    self.solvers = {
        "D_solver": tf.group(d_apply, *hooks, *_owned(updates, self.discriminator),
                             name="D_solver"),
        "G_solver": tf.group(g_apply, *_owned(updates, self.generator), name="G_solver")}
    self.gradients = {"d": d_grads, "g": g_grads}
    self.metrics = _with_norms(metrics, d_grads, g_grads)
    self.finish = self._finish(list(self.solvers.values()))

  def _build_alternating(self):
    self.index = v1.placeholder_with_default(tf.constant(0, tf.int32), [], name="d_index")
    seed = tf.random.experimental.stateless_fold_in(self.seed, self.index)
    (loss, d_metrics), d_updates = captured(lambda: objectives.discriminator_objective(
        self.gan, self.real, self.z, seed, self.step))
    d_grads = _grads(loss, self.d_vars)
    with _fence(d_grads, d_metrics):
      d_apply = self._apply("d", d_grads, self.d_vars)
    hooks = self._after_d_update([d_apply])
    loss_g, g_updates = captured(lambda: objectives.generator_objective(
        self.gan, self.real, self.z, self.seed, self.step))
    g_grads = _grads(loss_g, self.g_vars)
    with _fence(g_grads, {"loss_g": loss_g}):
      g_apply = self._apply("g", g_grads, self.g_vars)
    self.solvers = {"D_solver": tf.group(d_apply, *hooks, *chain(d_updates), name="D_solver"),
                    "G_solver": tf.group(g_apply, *chain(g_updates), name="G_solver")}
    self.gradients = {"d": d_grads, "g": g_grads}
    self.d_metrics = dict(d_metrics, grad_norm_d=tf.linalg.global_norm(d_grads))
    self.g_metrics = {"loss_g": loss_g, "grad_norm_g": tf.linalg.global_norm(g_grads)}
    self.finish = self._finish([self.solvers["G_solver"]])

  def run(self, reals, zs, seed):
    """One step on numpy batches `reals`, noises `zs` and seed [2]: metrics (numpy)."""
    if self.cfg.rule != "alternating":
      feed = {self.real: reals[0], self.z: zs[0], self.seed: seed}
      # `finish` waits for both solvers; the solvers wait for the fence.
      return self.session.run([list(self.solvers.values()), self.finish, self.metrics],
                              feed)[2]
    for i in range(self.cfg.n_d):
      feed = {self.real: reals[i], self.z: zs[i], self.seed: seed, self.index: i}
      metrics = self.session.run([self.solvers["D_solver"], self.d_metrics], feed)[1]
    for j in range(self.cfg.n_g):
      feed = {self.real: reals[-1], self.z: zs[self.cfg.n_d + j]}
      fetch = [self.solvers["G_solver"], self.g_metrics]
      if j == self.cfg.n_g - 1:
        fetch.append(self.finish)  # after the last G update (control dependency)
      g_metrics = self.session.run(fetch, feed)[1]
    metrics.update(g_metrics)
    return metrics
