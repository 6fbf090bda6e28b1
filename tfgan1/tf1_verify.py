"""`--verify` with `train.backend: tf1_graph`: TF1 graph gradients vs the TF2 engine's.

For each update rule, the TF1 graph of that rule is loaded with the TF2 build's
weights and fed the same batch, noise and penalty seed; its gradients (nothing
applied) must equal the TF2 engine's gradients of the same rule to 1e-5
(relative). The TF2 one-step side uses the config's form; the graph always
computes the classic form.
"""
import dataclasses
import json

from tfgan1 import build
from tfgan1 import losses
from tfgan1 import tf1_checks
from tfgan1 import tf1_run
from tfgan1 import verify

tf = build.tf
RULES = ("one_step", "simultaneous", "alternating")


def _tape_grads(loss_fn, variables):
  with tf.GradientTape() as tape:
    loss = loss_fn()
  grads = tape.gradient(loss, variables)
  return [tf.zeros_like(v) if g is None else g for g, v in zip(grads, variables)]


def tf2_gradients(trainer, rule, real, z, seed):
  """(D grads, G grads) of `rule`'s first updates, as the TF2 engine computes them."""
  if rule == "one_step":
    d, g, _ = trainer.one_step_gradients(real, z, seed)
  elif rule == "simultaneous":
    d, g, _ = trainer.simultaneous_gradients(real, z, seed)
  else:  # alternating: the first D update's and a G update's, both from these weights
    gan, step = trainer.gan, trainer.step
    fold = tf.random.experimental.stateless_fold_in(seed, 0)
    d = _tape_grads(lambda: losses.discriminator_objective(gan, real, z, fold, step)[0],
                    trainer.d_vars)
    g = _tape_grads(lambda: losses.generator_objective(gan, real, z), trainer.g_vars)
  return [x.numpy() for x in d], [x.numpy() for x in g]


def tf1_gradients(config, built, rule, real, z, seed):
  """(D grads, G grads) of the TF1 graph of `rule`, in the Keras 3 variables' order."""
  cfg = dataclasses.replace(config, train=dataclasses.replace(config.train, rule=rule),
                            ema=None)
  trainer = tf1_checks.building(lambda: tf1_run.Trainer(cfg, built, None))
  trainer.push()  # the graph now holds the TF2 build's weights
  graph = trainer.graph
  feed = {graph.real: real.numpy(), graph.z: z.numpy(), graph.seed: seed.numpy()}
  grads = graph.session.run(graph.gradients, feed)
  twin = {id(b): a.name for a, b in trainer._pairs}  # pylint: disable=protected-access
  out = []
  for net, models_vars, graph_vars in (("d", built.gan.discriminator, graph.d_vars),
                                       ("g", built.gan.generator, graph.g_vars)):
    index = {v.name: i for i, v in enumerate(graph_vars)}
    out.append([grads[net][index[twin[id(v)]]] for v in models_vars.trainable_variables])
  return tuple(out)


def main(config):
  """Prints JSON; exit 0 when every rule's TF1 gradients equal TF2's."""
  tf1_checks.check(config)
  built, trainer, real, z, seed = verify.setup(config)
  result = {}
  for rule in RULES:
    want = tf2_gradients(trainer, rule, real, z, seed)
    got = tf1_gradients(config, built, rule, real, z, seed)
    for net, i in (("discriminator", 0), ("generator", 1)):
      result[f"{rule}/tf1_graph_vs_tf2/{net}"] = verify.compare(got[i], want[i])
  worst = max(r["relative"] for r in result.values())
  out = {"pairs": result, "worst_relative": worst, "tolerance": verify.TOLERANCE,
         "ok": worst <= verify.TOLERANCE}
  if not out["ok"]:
    out["likely_cause"] = ("the TF1 graph and the TF2 engine disagree: a plugin "
                           "behaves differently under tf_keras or in graph mode")
  print(json.dumps(out, indent=2))
  return 0 if out["ok"] else 1
