"""The contract of an update rule, and the pieces every rule's step shares."""
from tfgan1 import tfimport

tf = tfimport.tensorflow()


def zeros_for_none(grads, variables):
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


def checked(metrics, d_grads, g_grads):
  """(the guard's part for one update, {grad_norm_d, grad_norm_g})."""
  d_sq, g_sq = _squares(d_grads), _squares(g_grads)
  norms = {"grad_norm_d": tf.sqrt(d_sq[0]), "grad_norm_g": tf.sqrt(g_sq[0])}
  return (metrics, [d_sq], [g_sq]), norms


class UpdateRule:
  """How D and G move in one training step. Subclass it in a module of its own,
  register it (`@RULES.register("name")`) and add the module to
  `tfgan1.registry.RULE_MODULES`.

  Facts about the rule, read before anything is built (class attributes):
    joint_optimizer: one optimizer over D's and G's weights serves the rule
      unless the config gives `d_optimizer` / `g_optimizer`.
    batches_per_step(cfg), noises_per_step(cfg): the real batches and noise
      batches one step draws (`cfg` is the config's `train` section).
    updates_per_step(cfg, role): how often the `role` ("d"/"g") optimizer
      updates per step; its learning-rate schedule reads updates // this.

  Per trainer (`tfgan1.engine.trainer.Trainer`, which owns the networks, the
  optimizers, the guard and the step counter):
    gradients(real, z, seed): (D grads, G grads, metrics) from the current
      weights, nothing applied; what `--verify` and the tf1_graph backend's
      verify compare.
    update(reals, zs, seed): one step, applied under the trainer's guard;
      returns the flat dict of scalar metrics.
    verify_variants(): {name: fn(real, z, seed) -> (D grads, G grads)} that
      must equal the simultaneous rule's gradients from the same weights
      (G's divided by any weight the rule gives L_G).
  """
  joint_optimizer = False

  @staticmethod
  def batches_per_step(cfg):
    del cfg
    return 1

  @staticmethod
  def noises_per_step(cfg):
    del cfg
    return 1

  @staticmethod
  def updates_per_step(cfg, role):
    del cfg, role
    return 1

  def __init__(self, trainer):
    self.trainer = trainer
    self.cfg = trainer.cfg

  def gradients(self, real, z, seed):
    raise NotImplementedError

  def update(self, reals, zs, seed):
    raise NotImplementedError

  def verify_variants(self):
    return {}

  # Shared by the rules.

  def tape_gradients(self, tape, loss, variables):
    """Unscaled gradients of a scaled `loss` (zeros where a variable got none)."""
    guard = self.trainer.guard
    return guard.unscale(zeros_for_none(tape.gradient(loss, variables), variables))

  def apply_both(self, d_grads, g_grads, metrics, forward_state):
    """Applies both networks' gradients from the same weights, under the guard.

    No weight may change before every gradient is computed: a G term that reads
    D's weights on a path D's own gradients never touch could otherwise be
    scheduled after D's update (seen: a few G gradient entries computed from
    updated D weights). Hence the fence on every gradient.
    """
    t = self.trainer
    def update():
      t.optimizers.apply(d_grads, g_grads, t.d_vars, t.g_vars)
      t.after_d_update()
    part, norms = checked(metrics, d_grads, g_grads)
    with tf.control_dependencies(d_grads + g_grads):
      ok = t.guard.apply_if_finite(update, [part], t.step + 1, forward_state)
    metrics.update(norms)
    return t.finish(metrics, ok)
