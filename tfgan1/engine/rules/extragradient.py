"""`extragradient`: extrapolate, recompute the gradient there, update from the start.

Gidel, Berard, Vignoud, Vincent, Lacoste-Julien, "A Variational Inequality
Perspective on Generative Adversarial Networks", ICLR 2019 (arXiv:1802.10551):
plain extragradient (Korpelevich 1976), not their "extrapolation from the
past", which reuses the previous step's gradient to save one of the two.

    w_half = w - step(F(w))       F = the one-step gradient (`OneStep.gradients`,
    w_next = w - step(F(w_half))      config's form): D grad L_D, G lambda x grad L_G

Choices:
- The extrapolation is one update of the run's own optimizers, whose state
  change is kept; then the network weights go back to w and the optimizers apply
  F(w_half). With plain SGD that is exactly Korpelevich's w_half = w - lr F(w);
  with Adam it is the paper's Extra-Adam (Algorithm 4), where both gradients
  enter the moment estimates. A bare `w - lr g` look-ahead under Adam would move
  the weights by lr x |g| (1e-4 x a small gradient) against Adam's ~lr steps: a
  near-null extrapolation at twice one_step's cost.
- Hence two updates per step per optimizer (`updates_per_step` 2: schedules read
  updates // 2 = the step), and one optimizer per network, since the joint one
  is built with `updates_per_step` 1. Adam and SGD act per entry: the same
  numbers a joint optimizer would give.
- Both gradients read the same batch, noise and penalty seed (the paper's
  stochastic version draws a fresh mini-batch for each): a step stays a
  deterministic function of one batch, which `gradients` and `--verify` check,
  and draws the data the other rules do.
- The extrapolation runs D's after-update hooks (weight clipping projects w_half,
  spectral norm's u follows it). Non-trainable state the look-ahead moved (its
  forward pass's BatchNorm statistics, u) is put back to what the first forward
  pass left, so a step moves it as one_step does: BatchNorm statistics once,
  from the pass at w; u once, after the update.
- The guard checks both gradients and losses: a non-finite extrapolation skips
  the step, and the skip puts back every variable the step wrote (weights,
  optimizer state, statistics), saved before anything ran.
"""
from tfgan1 import tfimport
from tfgan1.engine.guard import snapshot
from tfgan1.engine.rules.base import UpdateRule, checked
from tfgan1.engine.rules.one_step import OneStep
from tfgan1.registry import RULES

tf = tfimport.tensorflow()


def _put_back(variables, saved, after):
  """Assigns `saved` to `variables` once every tensor in `after` is computed: a
  read on a path the gradients never touch could otherwise come after the write
  (see `UpdateRule.apply_both`)."""
  with tf.control_dependencies(after):
    for v, value in zip(variables, saved):
      v.assign(value)


def _flat(results):
  return [x for d, g, metrics in results for x in d + g + list(metrics.values())]


@RULES.register("extragradient")
class Extragradient(UpdateRule):
  """One-step gradient at w, optimizer step to w_half, its gradient there updates w."""

  @staticmethod
  def updates_per_step(cfg, role):
    del cfg, role
    return 2  # the extrapolation and the update

  def __init__(self, trainer):
    super().__init__(trainer)
    self.one_step = OneStep(trainer)

  def _models(self):
    return [v for m in (self.trainer.gan.discriminator, self.trainer.gan.generator)
            for v in m.variables]

  def _lookahead(self, real, z, seed, *extra):
    """[F(w), F(w_half), fn(w_half) for fn in extra], each (d, g, metrics).

    Leaves the networks as the first forward pass left them (w, BatchNorm
    statistics moved once) and the optimizers as the extrapolation left them.
    """
    t = self.trainer
    first = self.one_step.gradients(real, z, seed)
    models = self._models()
    after_first = snapshot(models)
    with tf.control_dependencies(_flat([first])):
      t.optimizers.apply(first[0], first[1], t.d_vars, t.g_vars)
      t.after_d_update()
    moved = [tf.convert_to_tensor(v) for v in t.d_vars + t.g_vars]
    with tf.control_dependencies(moved):  # every read below sees w_half
      out = [fn(real, z, seed) for fn in (self.one_step.gradients,) + extra]
    _put_back(models, after_first, _flat(out))
    return [first] + out

  def _unapplied(self, real, z, seed, *extra):
    """`_lookahead`, then every variable of the networks and optimizers back."""
    state = self.trainer.state()
    saved = snapshot(state)
    results = self._lookahead(real, z, seed, *extra)
    _put_back(state, saved, _flat(results))
    return results

  def gradients(self, real, z, seed):
    """F(w_half), the gradient a step applies (G's is lambda x L_G's), and the
    metrics at w; every weight and optimizer state as it was."""
    first, lookahead = self._unapplied(real, z, seed)
    return lookahead[0], lookahead[1], first[2]

  def update(self, reals, zs, seed):
    t = self.trainer
    state = t.state()  # all a skipped step must put back: the extrapolation
    saved = snapshot(state)  # wrote the optimizers' state too
    first, (d_grads, g_grads, metrics) = self._lookahead(reals[0], zs[0], seed)
    part1, _ = checked(first[2], first[0], first[1])
    part2, norms = checked({f"{k}_lookahead": v for k, v in metrics.items()},
                           d_grads, g_grads)
    def update():
      t.optimizers.apply(d_grads, g_grads, t.d_vars, t.g_vars)
      t.after_d_update()
    restored = [tf.convert_to_tensor(v) for v in t.d_vars + t.g_vars]
    with tf.control_dependencies(d_grads + g_grads + restored):
      ok = t.guard.apply_if_finite(update, [part1, part2], t.step + 1, (state, saved))
    return t.finish({**first[2], **norms}, ok)

  def verify_variants(self):
    return {"extragradient_lookahead": self._lookahead_check}

  def _lookahead_check(self, real, z, seed):
    """At w_half, F must equal the simultaneous rule's (D, lambda x G) gradients.

    `--verify` compares each variant with the simultaneous rule at w, so this
    returns simultaneous(w) + [F(w_half) - simultaneous(w_half)] (G unscaled):
    equal to the reference exactly when the two agree at w_half.
    """
    simultaneous = self.trainer.rule_for("simultaneous").gradients
    here_d, here_g, _ = simultaneous(real, z, seed)
    _, (d, g, _), (sim_d, sim_g, _) = self._unapplied(real, z, seed, simultaneous)
    lam = self.cfg.lambda_
    return ([h + (a - b) for h, a, b in zip(here_d, d, sim_d)],
            [h + (a / lam - b) for h, a, b in zip(here_g, g, sim_g)])
