"""The update rules as graph ops: `BUILDERS[rule](trainer)` adds one rule's step
to a `GraphTrainer` (see `tfgan1.backends.tf1_graph.graph` for what each does)."""
from tfgan1 import tfimport
from tfgan1.backends.tf1_graph import guard as guard_lib
from tfgan1.backends.tf1_graph import ops
from tfgan1.backends.tf1_graph import optimizers as tf1_optimizers
from tfgan1.gan import objectives

tf = tfimport.tensorflow()
v1 = tf.compat.v1


def one_step(t):
  """One `solver` on the classic one-step loss (one optimizer, or one per network
  on the two halves of one gradient list), behind the fence."""
  (total, metrics), updates = ops.captured(lambda: objectives.one_step_objective(
      t.gan, t.real, t.z, t.seed, t.step, t.cfg.lambda_, "classic"))
  grads = ops.grads(total, t.d_vars + t.g_vars)
  d_grads, g_grads = grads[:len(t.d_vars)], grads[len(t.d_vars):]
  with ops.fence(grads, metrics):
    if "joint" in t.optimizers:
      applies = [t.apply("joint", grads, t.d_vars + t.g_vars)]
    else:
      applies = [t.apply("d", d_grads, t.d_vars), t.apply("g", g_grads, t.g_vars)]
  hooks = t.after_d_update(applies)
  t.solvers = {"solver": tf.group(*applies, *hooks, *ops.chain(updates), name="solver")}
  t.gradients = {"d": d_grads, "g": g_grads}
  part, norms = t.guard.part(metrics, d_grads, g_grads)
  t.metrics = dict(metrics, **norms, **tf1_optimizers.rates(t.optimizers))
  t.finish = t.finish_with_guard(list(t.solvers.values()), [part])


def simultaneous(t):
  """`D_solver` and `G_solver`, fetched together, both behind the fence."""
  (loss_d, loss_g, metrics), updates = ops.captured(lambda: objectives.both_objectives(
      t.gan, t.real, t.z, t.seed, t.step))
  d_grads, g_grads = ops.grads(loss_d, t.d_vars), ops.grads(loss_g, t.g_vars)
  with ops.fence(d_grads + g_grads, metrics):  # without it G may read D's new weights
    d_apply = t.apply("d", d_grads, t.d_vars)
    g_apply = t.apply("g", g_grads, t.g_vars)
  hooks = t.after_d_update([d_apply])
  # Chained per network, so D_solver alone runs none of G's updates (BatchNorm).
  g_updates = ops.chain(ops.owned(updates, t.generator))
  d_updates = ops.chain([op for op in updates if op not in g_updates])
  t.solvers = {"D_solver": tf.group(d_apply, *hooks, *d_updates, name="D_solver"),
               "G_solver": tf.group(g_apply, *g_updates, name="G_solver")}
  t.gradients = {"d": d_grads, "g": g_grads}
  part, norms = t.guard.part(metrics, d_grads, g_grads)
  t.metrics = dict(metrics, **norms, **tf1_optimizers.rates(t.optimizers))
  t.finish = t.finish_with_guard(list(t.solvers.values()), [part])


def alternating(t):
  """`D_solver` (fed `index` 0..n_d-1) n_d times, then `G_solver` n_g times; the
  last G call fetches `finish`."""
  t.index = v1.placeholder_with_default(tf.constant(0, tf.int32), [], name="d_index")
  seed = tf.random.experimental.stateless_fold_in(t.seed, t.index)
  (loss, d_metrics), d_updates = ops.captured(lambda: objectives.discriminator_objective(
      t.gan, t.real, t.z, seed, t.step))
  d_grads = ops.grads(loss, t.d_vars)
  with ops.fence(d_grads, d_metrics):
    d_apply = t.apply("d", d_grads, t.d_vars)
  hooks = t.after_d_update([d_apply])
  loss_g, g_updates = ops.captured(lambda: objectives.generator_objective(
      t.gan, t.real, t.z, t.seed, t.step))
  g_grads = ops.grads(loss_g, t.g_vars)
  with ops.fence(g_grads, {"loss_g": loss_g}):
    g_apply = t.apply("g", g_grads, t.g_vars)
  d_solver = [d_apply, *hooks, *ops.chain(d_updates)]
  g_solver = [g_apply, *ops.chain(g_updates)]
  t.guard = guard_lib.CallsGuard(t.cfg, t.state())
  d_part, d_norm = t.guard.part(d_metrics, d_grads, [])
  g_part, g_norm = t.guard.part({"loss_g": loss_g}, [], g_grads)
  d_note, d_names = t.guard.note(d_part, d_solver,
                                 t.index * (len(d_metrics) + 2))
  g_note, g_names = t.guard.note(g_part, g_solver, t.cfg.n_d * len(d_names))
  t.solvers = {"D_solver": tf.group(*d_solver, d_note, name="D_solver"),
               "G_solver": tf.group(*g_solver, g_note, name="G_solver")}
  t.gradients = {"d": d_grads, "g": g_grads}
  t.d_metrics = dict(d_metrics, grad_norm_d=d_norm["grad_norm_d"],
                     lr_d=t.optimizers["d"].rate)
  t.g_metrics = {"loss_g": loss_g, "grad_norm_g": g_norm["grad_norm_g"],
                 "lr_g": t.optimizers["g"].rate}
  done, new_step = t.count([t.solvers["G_solver"]])
  names = d_names * t.cfg.n_d + g_names * t.cfg.n_g
  done += t.guard.decide(names, [t.solvers["G_solver"], *done], new_step)
  t.finish = {"op": tf.group(*done, name="finish"),
              "skipped_steps": t.guard.skipped_steps(done)}


BUILDERS = {"one_step": one_step, "simultaneous": simultaneous, "alternating": alternating}
RULES = tuple(BUILDERS)  # what GraphTrainer builds
