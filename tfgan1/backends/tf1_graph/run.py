"""`train.backend: tf1_graph`: a run whose steps are `sess.run` calls on a v1 graph.

It implements `tfgan1.backends.protocol.Backend`, as the TF2 run does.

The graph's variables are mirrored by eager ones laid out exactly as a TF2 run's
checkpoint (Keras 3 generator, discriminator and EMA generator, step, noise RNG,
data iterator), plus the v1 optimizers' slots. So the initial weights are those
a TF2 run of the same seed starts from, and `tools/sample.py` / `tools/export.py`
read a tf1_graph workdir unchanged. The mirrors are pulled from the session
before each checkpoint write or sample and pushed into it after a restore.
Data and noise are drawn eagerly, exactly as the TF2 engine draws them (several
steps' in one host call), and fed; only the last step of a `train(count)` call
fetches its metrics, as TF2 hands over only the last one's.
"""
from absl import logging

from tfgan1 import tfimport
from tfgan1.backends.protocol import Backend, checkpoint_parts
from tfgan1.backends.tf1_graph import checks
from tfgan1.backends.tf1_graph import functions
from tfgan1.backends.tf1_graph import graph as graph_lib
from tfgan1.backends.tf1_graph import interrupts
from tfgan1.engine import assembly
from tfgan1.engine import ema as ema_lib
from tfgan1.engine.rules import rule_class
from tfgan1.registry import tf1

tf = tfimport.tensorflow()


def layer_pairs(graph_model, eager_model):
  """[(graph variable, eager variable)] of two builds of one architecture."""
  pairs = []
  for a, b in zip(graph_model.layers, eager_model.layers):
    for kind in ("trainable_weights", "non_trainable_weights"):
      pairs += list(zip(getattr(a, kind), getattr(b, kind)))
  if (len(pairs) != len(graph_model.weights) or len(pairs) != len(eager_model.weights)
      or any(tuple(x.shape) != tuple(y.shape) for x, y in pairs)):
    raise ValueError(f"{graph_model.name}: the tf_keras and Keras 3 builds of this "
                     "architecture have different weights")
  return pairs


class _OptimizerState(tf.Module):
  """Eager copies of one v1 optimizer's slots and accumulators, and of its update
  count (`iterations`, as Keras calls it: the schedule reads it) (checkpointed)."""

  def __init__(self, values, iterations):
    super().__init__()
    self.values = [tf.Variable(v, trainable=False) for v in values]
    self.iterations = tf.Variable(iterations, dtype=tf.int64, trainable=False)


class SyncedCheckpoint(tf.train.Checkpoint):
  """A tf.train.Checkpoint of the mirrors that syncs them with the session.

  `tf.train.CheckpointManager.save` writes through `_write`, so that is where the
  mirrors are pulled; a restore marks the graph stale so the next step pushes.
  """

  def __init__(self, owner, **parts):
    super().__init__(**parts)
    self._tfgan1_owner = owner

  def _write(self, *args, **kwargs):  # pylint: disable=arguments-differ
    self._tfgan1_owner.pull()
    return super()._write(*args, **kwargs)

  def read(self, *args, **kwargs):  # pylint: disable=arguments-differ
    status = super().read(*args, **kwargs)
    self._tfgan1_owner.stale = True
    return status


def _loss_scale():
  """The TF2 guard's checkpoint part: the graph has no loss scale (`checks`
  refuses float16), so that stays idle, but it counts skipped steps (mirrored);
  its checkpoints keep the TF2 layout so either backend resumes the other's."""
  return tf.train.Checkpoint(scale=tf.Variable(1.0, trainable=False),
                             good_steps=tf.Variable(0, dtype=tf.int64, trainable=False),
                             skipped=tf.Variable(0, dtype=tf.int64, trainable=False))


class Trainer:
  """The eager mirrors of a GraphTrainer's variables, and its steps."""

  def __init__(self, config, built, ema):
    self.cfg = config.train
    self.gan, self.ema = built.gan, ema
    self.noise_fn = built.noise_fn
    self.graph = graph_lib.GraphTrainer(config, built.data.spec, built.gan.family,
                                        built.gan.penalties)
    self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
    self.loss_scale = _loss_scale()
    self._pairs = self._mirror_pairs()
    self.optimizers = self._optimizer_state()
    self.stale = True  # the graph holds initializer values, not the mirrors'
    self._draw_fn = None

  def _mirror_pairs(self):
    g = self.graph
    pairs = [(g.step, self.step), (g.guard.skipped, self.loss_scale.skipped)]
    pair = functions.name_pairs if isinstance(g.generator, functions.GraphNetwork) else layer_pairs
    pairs += pair(g.generator, self.gan.generator)
    pairs += pair(g.discriminator, self.gan.discriminator)
    if self.ema is not None:
      pairs += layer_pairs(g.ema.model, self.ema.model)
    return pairs

  def _optimizer_state(self):
    """{role: eager copies of its v1 optimizer's variables}, appended to the pairs."""
    values = dict(zip((v.name for v in self.graph.variables), self.graph.values()))
    state = {}
    for role, solver in self.graph.optimizers.items():
      with self.graph.graph.as_default():  # v1 optimizers list the default graph's only
        variables = sorted(solver.optimizer.variables(), key=lambda v: v.name)
      state[role] = _OptimizerState([values[v.name] for v in variables],
                                    values[solver.updates.name])
      self._pairs += list(zip(variables, state[role].values))
      self._pairs.append((solver.updates, state[role].iterations))
    return state

  def push(self):
    """Mirrors -> graph (after building or restoring)."""
    by_name = {a.name: b for a, b in self._pairs}
    missing = [v.name for v in self.graph.variables if v.name not in by_name]
    if missing:
      raise ValueError(f"graph variables without a mirror: {missing[:3]}")
    self.graph.load([by_name[v.name].numpy() for v in self.graph.variables])
    self.stale = False

  def pull(self):
    """Graph -> mirrors (before a checkpoint write or a sample)."""
    if not self.stale:  # else the mirrors are already the newer copy
      values = dict(zip((v.name for v in self.graph.variables), self.graph.values()))
      for a, b in self._pairs:
        b.assign(values[a.name])
    if self.ema is not None:
      self.ema.calibrate()  # the graph's EMA holds G's statistics (see tfgan1.engine.ema)

  def _draw(self, iterator, rng, steps):
    """The TF2 engine's draws for `steps` steps, in its order: per step its
    batches, its noises, then its seed."""
    rule = rule_class(self.cfg.rule)
    batches, noises = rule.batches_per_step(self.cfg), rule.noises_per_step(self.cfg)
    draws = []
    for _ in range(steps):
      reals = [next(iterator) for _ in range(batches)]
      zs = [self.noise_fn(rng, self.cfg.batch_size) for _ in range(noises)]
      draws.append((reals, zs, tf.cast(rng.make_seeds(1)[:, 0], tf.int32)))
    return draws

  def train_steps(self, iterator, rng, count):
    """`count` steps, one session call each: the last one's metrics (the others
    fetch none). Draws come `DRAWS_PER_CALL` steps at a time, in one host call."""
    if self.stale:
      self.push()
    if self._draw_fn is None:
      self._draw_fn = tf.function(self._draw)
    metrics, done = None, 0
    while done < count:
      n = min(DRAWS_PER_CALL, count - done)
      with interrupts.held():  # the iterator and RNG are n steps ahead until they ran
        for reals, zs, seed in numpy(self._draw_fn(iterator, rng, n)):
          done += 1
          metrics = self.graph.run(reals, zs, seed, fetch_metrics=done == count)
        self.step.assign_add(n)  # kept current: the loop reads it when interrupted
    return metrics

  def train_step(self, iterator, rng):
    return self.train_steps(iterator, rng, 1)


# The draw's host call costs about as much as a small step (BENCHMARKS, TF1 graph
# backend): spread over this many steps; their data stay small beside a model.
DRAWS_PER_CALL = 16


def numpy(batches):
  """Tensors, or (tensor, labels) pairs, as numpy: what the placeholders are fed."""
  return tf.nest.map_structure(lambda t: t.numpy(), batches)


class Run(Backend):
  """A tf1_graph run, built before the workdir is touched (as the TF2 one)."""
  name = "tf1_graph"
  supports = checks.SUPPORTS

  def __init__(self, config, strategy=None):
    del strategy  # `supports` allows the default strategy only
    checks.check(config)
    if config.train.rule == "one_step" and config.train.one_step_form != "classic":
      logging.info("train.backend=tf1_graph computes the one-step loss in its classic "
                   "form (stateless_call is Keras 3 only); the gradients are the same")
    self.config = config
    if tf1.uses_tf1_functions(config):  # traced TF1 functions hold the weights
      built = functions.build(config)
    else:
      built = assembly.everything(config)  # Keras 3 mirrors: TF2's initial weights
    self.data = built.data
    self.networks = built.gan
    ema = None
    if config.ema is not None:
      ema = ema_lib.from_config(built.gan.generator, assembly.keras, config, built.noise_fn)
    self.trainer = checks.building(lambda: Trainer(config, built, ema))
    self.step_variable = self.trainer.step
    self.ema, self.optimizers = self.trainer.ema, self.trainer.optimizers
    self.rng = tf.random.Generator.from_seed(config.seed)
    self.iterator = iter(self.data.dataset(config.train.batch_size, config.seed))
    t = self.trainer
    self.checkpoint = SyncedCheckpoint(t, **checkpoint_parts(
        t.step, t.gan, t.optimizers, t.ema, self.rng, self.iterator, t.loss_scale))

  def train(self, count):
    return self.trainer.train_steps(self.iterator, self.rng, count)

  def check_finite(self):
    g = self.trainer.graph
    g.guard.check(g.session)  # raises NonFiniteStop (train.on_nonfinite)

  def sampler(self):
    """The (eager, Keras 3) generator that samples: the EMA one when enabled."""
    self.trainer.pull()  # calibrates the EMA mirror
    t = self.trainer
    return t.ema.model if t.ema is not None else t.gan.generator

  def before_save(self, step):
    self.trainer.pull()

  @classmethod
  def verify(cls, config):
    from tfgan1.backends.tf1_graph import verify  # pylint: disable=g-import-not-at-top
    return verify.main(config)


BACKEND = Run
