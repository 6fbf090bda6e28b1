"""`one_step`: the single one-step loss (see `tfgan1.gan.objectives`), one
gradient call over D's and G's weights, one optimizer step.

With one joint optimizer `lambda` scales G's gradient; with one optimizer per
network (TTUR) each applies its half of the one gradient list.
"""
import functools

from tfgan1 import tfimport
from tfgan1.engine.rules.base import UpdateRule, zeros_for_none
from tfgan1.gan import objectives
from tfgan1.registry import RULES

tf = tfimport.tensorflow()
FORMS = ("classic", "stateless", "fused", "shared")  # train.one_step_form


@RULES.register("one_step")
class OneStep(UpdateRule):
  """One loss, one gradient call, one update."""
  joint_optimizer = True

  def gradients(self, real, z, seed, form=None):
    """The one loss's gradients (G's are lambda x L_G's), in `form` (default: the config's)."""
    t = self.trainer
    variables = t.d_vars + t.g_vars
    with tf.GradientTape() as tape:
      total, metrics = objectives.one_step_objective(
          t.gan, real, z, seed, t.step, self.cfg.lambda_, form or self.cfg.one_step_form)
      scaled = t.guard.scale_loss(total)
    grads = t.guard.unscale(zeros_for_none(tape.gradient(scaled, variables), variables))
    n = len(t.d_vars)
    return grads[:n], grads[n:], metrics

  def update(self, reals, zs, seed):
    forward_state = self.trainer.forward_state()
    d_grads, g_grads, metrics = self.gradients(reals[0], zs[0], seed)
    return self.apply_both(d_grads, g_grads, metrics, forward_state)

  def verify_variants(self):
    """Every form whose premise holds for this D (`shared`: per-sample scores)."""
    forms = [f for f in FORMS if f != "shared" or self.trainer.per_sample()]
    return {f"one_step_{form}": functools.partial(self._unscaled, form=form)
            for form in forms}

  def _unscaled(self, real, z, seed, form):
    d_grads, g_grads, _ = self.gradients(real, z, seed, form)
    return d_grads, [g / self.cfg.lambda_ for g in g_grads]
