"""`alternating`: n_d D updates, then n_g G updates, each on fresh noise (the
classic GAN loop). Each update reads the weights the one before wrote, so the
finite check comes after all of them: a bad step puts every variable back."""
from tfgan1 import tfimport
from tfgan1.engine.guard import snapshot
from tfgan1.engine.rules.base import UpdateRule, checked
from tfgan1.gan import objectives
from tfgan1.registry import RULES

tf = tfimport.tensorflow()
_fold = tf.random.experimental.stateless_fold_in


@RULES.register("alternating")
class Alternating(UpdateRule):
  """D steps, then G steps, one optimizer per network."""

  @staticmethod
  def batches_per_step(cfg):
    return cfg.n_d

  @staticmethod
  def noises_per_step(cfg):
    return cfg.n_d + cfg.n_g

  @staticmethod
  def updates_per_step(cfg, role):
    return cfg.n_d if role == "d" else cfg.n_g

  def d_gradients(self, real, z, seed):
    """(D grads, metrics) of one D update (penalty seed `seed`)."""
    t = self.trainer
    with tf.GradientTape() as tape:
      loss, metrics = objectives.discriminator_objective(t.gan, real, z, seed, t.step)
      loss = t.guard.scale_loss(loss)
    return self.tape_gradients(tape, loss, t.d_vars), metrics

  def g_gradients(self, real, z, seed=None):
    """(G grads, L_G) of one G update."""
    t = self.trainer
    with tf.GradientTape() as tape:
      loss_g = objectives.generator_objective(t.gan, real, z, seed, t.step)
      scaled = t.guard.scale_loss(loss_g)
    return self.tape_gradients(tape, scaled, t.g_vars), loss_g

  def gradients(self, real, z, seed):
    """The first D update's and a G update's gradients, both from these weights."""
    d_grads, metrics = self.d_gradients(real, z, _fold(seed, 0))
    g_grads, metrics["loss_g"] = self.g_gradients(real, z)
    return d_grads, g_grads, metrics

  def update(self, reals, zs, seed):
    t, n_d = self.trainer, self.cfg.n_d
    state = t.state()
    saved = snapshot(state)
    parts = []
    for i in range(n_d):  # unrolled: n_d and n_g are small constants
      d_grads, metrics = self.d_gradients(reals[i], zs[i], _fold(seed, i))
      t.optimizers.apply_d(d_grads, t.d_vars)
      t.after_d_update()
      part, d_norm = checked(dict(metrics), d_grads, [])
      parts.append(part)
    for j in range(self.cfg.n_g):
      g_grads, loss_g = self.g_gradients(reals[-1], zs[n_d + j], _fold(seed, n_d + j))
      t.optimizers.apply_g(g_grads, t.g_vars)
      part, g_norm = checked({"loss_g": loss_g}, [], g_grads)
      parts.append(part)
    ok = t.guard.undo_unless_finite(parts, state, saved, t.step + 1)
    metrics.update(loss_g=loss_g, grad_norm_d=d_norm["grad_norm_d"],
                   grad_norm_g=g_norm["grad_norm_g"])
    return t.finish(metrics, ok)
