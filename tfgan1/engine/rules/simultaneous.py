"""`simultaneous`: one forward pass, a persistent tape, two gradient calls; D
follows L_D and G follows L_G from the same weights. The reference `--verify`
holds every other rule's gradients against."""
from tfgan1 import tfimport
from tfgan1.engine.rules.base import UpdateRule
from tfgan1.gan import objectives
from tfgan1.registry import RULES

tf = tfimport.tensorflow()


@RULES.register("simultaneous")
class Simultaneous(UpdateRule):
  """Two gradient calls, one optimizer per network."""

  def gradients(self, real, z, seed):
    t = self.trainer
    with tf.GradientTape(persistent=True) as tape:
      loss_d, loss_g, metrics = objectives.both_objectives(t.gan, real, z, seed, t.step)
      loss_d, loss_g = t.guard.scale_loss(loss_d), t.guard.scale_loss(loss_g)
    d_grads = self.tape_gradients(tape, loss_d, t.d_vars)
    g_grads = self.tape_gradients(tape, loss_g, t.g_vars)
    del tape
    return d_grads, g_grads, metrics

  def update(self, reals, zs, seed):
    forward_state = self.trainer.forward_state()
    d_grads, g_grads, metrics = self.gradients(reals[0], zs[0], seed)
    return self.apply_both(d_grads, g_grads, metrics, forward_state)
