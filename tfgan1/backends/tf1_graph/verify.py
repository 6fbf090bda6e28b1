"""`--verify` with `train.backend: tf1_graph`: TF1 graph gradients vs the TF2 engine's.

For each update rule, the TF1 graph of that rule is loaded with the TF2 build's
weights and fed the same batch, noise and penalty seed; its gradients (nothing
applied) must equal the TF2 engine's gradients of the same rule to 1e-5
(relative). The TF2 one-step side uses the config's form; the graph always
computes the classic form.
"""
import dataclasses
import json

from tfgan1 import tfimport
from tfgan1.backends.tf1_graph import checks
from tfgan1.backends.tf1_graph import functions
from tfgan1.backends.tf1_graph import graph as graph_lib
from tfgan1.backends.tf1_graph import run as tf1_run
from tfgan1.engine import verify
from tfgan1.registry import tf1

tf = tfimport.tensorflow()


def tf2_gradients(trainer, rule, real, z, seed):
  """(D grads, G grads) of `rule`'s gradients as the TF2 engine computes them."""
  d, g, _ = trainer.rule_for(rule).gradients(real, z, seed)
  return [x.numpy() for x in d], [x.numpy() for x in g]


def tf1_gradients(config, built, rule, real, z, seed):
  """(D grads, G grads) of the TF1 graph of `rule`, in the Keras 3 variables' order."""
  cfg = dataclasses.replace(config, train=dataclasses.replace(config.train, rule=rule),
                            ema=None)
  trainer = checks.building(lambda: tf1_run.Trainer(cfg, built, None))
  trainer.push()  # the graph now holds the TF2 build's weights
  graph = trainer.graph
  feed = {graph.real: tf1_run.numpy(real), graph.z: tf1_run.numpy(z),
          graph.seed: seed.numpy()}
  grads = graph.session.run(graph.gradients, feed)
  twin = {id(b): a.name for a, b in trainer._pairs}  # pylint: disable=protected-access
  out = []
  for net, models_vars, graph_vars in (("d", built.gan.discriminator, graph.d_vars),
                                       ("g", built.gan.generator, graph.g_vars)):
    index = {v.name: i for i, v in enumerate(graph_vars)}
    out.append([grads[net][index[twin[id(v)]]] for v in models_vars.trainable_variables])
  return tuple(out)


def functions_main(config):
  """TF1 functions have no TF2 build: the one-step graph's gradients against the
  graph's own simultaneous rule (D: the same; G: lambda times), as the TF2
  engine's --verify compares its rules. Prints JSON; exit 0 when they agree."""
  built = functions.build(config)
  rng = tf.random.Generator.from_seed(config.seed)
  real = next(iter(built.data.dataset(config.train.batch_size, config.seed)))
  z = built.noise_fn(rng, config.train.batch_size)
  seed = tf.constant([config.seed, 0], tf.int32)
  grads = {name: tf1_gradients(config, built, rule, real, z, seed) for name, rule in
           (("simultaneous", "simultaneous"), ("one_step_classic", "one_step"),
            ("simultaneous_again", "simultaneous"))}
  d, g = grads["one_step_classic"]
  grads["one_step_classic"] = (d, [x / config.train.lambda_ for x in g])
  out = verify.report(grads)
  if not out["ok"]:
    out["likely_cause"] = ("the TF1 functions are not deterministic from call to call "
                           "(dropout or noise in D breaks the one-step cancellation)")
  print(json.dumps(out, indent=2))
  return 0 if out["ok"] else 1


def main(config):
  """Prints JSON; exit 0 when every rule's TF1 gradients equal TF2's."""
  checks.check(config)
  if tf1.uses_tf1_functions(config):
    return functions_main(config)
  built, trainer, real, z, seed = verify.setup(config)
  result = {}
  for rule in graph_lib.RULES:
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
