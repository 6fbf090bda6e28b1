"""The legacy TF1 backend: the three update rules as ops of a `tf.compat.v1` graph.

The graph lives in a `tf.Graph` of its own with its own `tf.compat.v1.Session`,
so the rest of the process stays eager. Batches, noise and the penalty seed come
in through placeholders (the `feed_dict` idiom). The networks are the same
architecture plugins built with `tf_keras`, or a user's two TF1 functions
(`tfgan1.backends.tf1_graph.functions`); the losses are the objectives of
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
The non-finite guard (`guard`) puts back every variable a refused step wrote.
"""
from tfgan1 import tfimport
from tfgan1.backends.tf1_graph import functions
from tfgan1.backends.tf1_graph import guard as guard_lib
from tfgan1.backends.tf1_graph import optimizers as tf1_optimizers
from tfgan1.backends.tf1_graph import rules
from tfgan1.backends.tf1_graph.ops import captured, tf_keras  # pylint: disable=unused-import
from tfgan1.engine import assembly
from tfgan1.gan.networks import Networks
from tfgan1.registry import contracts, tf1

tf = tfimport.tensorflow()
v1 = tf.compat.v1
RULES = rules.RULES  # what GraphTrainer builds


def _session_config():
  """Grappler's remapper fails on the spectral-norm D's backward pass ("fanout ...
  exist for missing node ...BiasAdd") and logs an error on every run; it then
  leaves that graph unfused anyway, so it is turned off."""
  config = v1.ConfigProto()
  off = config.graph_options.rewrite_options.OFF
  config.graph_options.rewrite_options.remapping = off
  return config


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
      if tf1.uses_tf1_functions(config):
        v1.set_random_seed(config.seed)  # initializers the mirrors overwrite: still seeded
        generator, discriminator = functions.graph_networks(config, spec)
      else:
        generator, discriminator = assembly.models(config, spec, keras)
      self.generator, self.discriminator = generator, discriminator
      self.gan = Networks(generator, discriminator, family, list(penalty_terms),
                          g_top_k=assembly.g_top_k(self.cfg.g_top_k, family,
                                                   config.loss.name))
      self.d_vars = list(discriminator.trainable_variables)
      self.g_vars = list(generator.trainable_variables)
      self.optimizers = tf1_optimizers.make(config)
      self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
      # alternating: a CallsGuard, made once the optimizers' slots exist
      self.guard = None if self.cfg.rule == "alternating" else guard_lib.GraphGuard(self.cfg)
      self._placeholders(config, spec)
      self.session = v1.Session(graph=self.graph, config=_session_config())
      self.ema = None
      if config.ema is not None:
        from tfgan1.engine.ema import GeneratorEMA  # pylint: disable=g-import-not-at-top
        with self.session.as_default():  # tf_keras' set_weights runs in the default session
          self.ema = GeneratorEMA(generator, keras, config.ema.decay, config.ema.start)
      rules.BUILDERS[self.cfg.rule](self)
      scratch = {v.handle.name for v in self.guard.scratch}  # never mirrored or saved
      self.variables = [v for v in v1.global_variables() if v.handle.name not in scratch]
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
    if spec.num_classes:  # labelled data: (batch, labels), fed as nested tuples
      self.real = (self.real, v1.placeholder(tf.int32, shape[:1], name="real_labels"))
      self.z = (self.z, v1.placeholder(tf.int32, shape[:1], name="z_labels"))
    self.seed = v1.placeholder(tf.int32, [2], name="seed")

  def after_d_update(self, after):
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

  def state(self):
    """Every variable a step may write, but the step counter and the guard's."""
    guard = [self.guard.skipped, *self.guard.scratch] if self.guard else []
    skip = {v.handle.name for v in [self.step, *guard]}
    return [v for v in v1.global_variables() if v.handle.name not in skip]

  def count(self, after):
    """(step += 1 then the EMA of G's updated weights: ops, the new step)."""
    with tf.control_dependencies(after):
      new_step = self.step.assign_add(1)
    ops = [new_step.op]
    if self.ema is not None:
      _, ema_ops = captured(lambda: self.ema.update(new_step), [new_step])
      ops += ema_ops
    return ops, new_step

  def finish_with_guard(self, after, parts):
    """The step's count and EMA, then the guard's verdict on `parts`."""
    ops, new_step = self.count(after)
    ops += self.guard.one_call(parts, self.state(), after + ops, new_step)
    self.metrics["skipped_steps"] = self.guard.skipped_steps(ops)
    return tf.group(*ops, name="finish")

  def apply(self, role, grads, variables):
    return self.optimizers[role].apply(grads, variables, name=f"{role}_apply")

  def run(self, reals, zs, seed, fetch_metrics=True):
    """One step on numpy batches `reals`, noises `zs` and seed [2]: its metrics
    (numpy), or None without `fetch_metrics`."""
    if self.cfg.rule != "alternating":
      feed = {self.real: reals[0], self.z: zs[0], self.seed: seed}
      # `finish` waits for both solvers; the solvers wait for the fence.
      fetch = [list(self.solvers.values()), self.finish]
      out = self.session.run(fetch + [self.metrics] if fetch_metrics else fetch, feed)
      return out[2] if fetch_metrics else None
    self.session.run(self.guard.save)  # what a refused step puts back
    for i in range(self.cfg.n_d):
      feed = {self.real: reals[i], self.z: zs[i], self.seed: seed, self.index: i}
      fetch = [self.solvers["D_solver"]]
      if fetch_metrics and i == self.cfg.n_d - 1:
        fetch.append(self.d_metrics)
      metrics = self.session.run(fetch, feed)[-1]
    for j in range(self.cfg.n_g):
      feed = {self.real: reals[-1], self.z: zs[self.cfg.n_d + j]}
      fetch = [self.solvers["G_solver"], self.g_metrics]
      if j == self.cfg.n_g - 1:
        fetch.append(self.finish)  # after the last G update (control dependency)
      out = self.session.run(fetch, feed)
    if not fetch_metrics:
      return None
    metrics.update(out[1], skipped_steps=out[2]["skipped_steps"])
    return metrics
