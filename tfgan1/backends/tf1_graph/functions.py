"""Architectures given as two plain TF1 functions (`tfgan1.tf1_networks`).

`generator(z, is_training)` and `discriminator(x, is_training)` build their
layers with `tf.compat.v1.layers` (or `tf.compat.v1.get_variable`) inside a
`variable_scope(..., reuse=AUTO_REUSE)`, as TF1 scripts did.

- In the graph each is a `GraphNetwork`, called as the Keras models are. A first
  call on a placeholder builds its variables; their top scope is the network's,
  and its variables and trainable variables are that scope's collections. The
  BatchNorm updates a call adds to UPDATE_OPS are variable writes of its own
  scope, so the rules run them with that network's solver (`ops.owned`).
- Checkpoints, samples and exports need eager weights and there is no Keras
  model to hold them: `EagerNetwork` is the same function traced once more by
  `tf.compat.v1.wrap_function` with is_training False. Its variables carry the
  graph's names, so it is the run's mirror (checkpointed as
  `generator/weights/<variable name>`), and tools/sample.py and tools/export.py
  rebuild it from the same plugin file.

What a Keras model gives and two functions cannot: an EMA copy, labels, kwargs
(refused by `check`, listed in `Supports.limits`).
"""
from tfgan1 import registry
from tfgan1 import tfimport
from tfgan1.backends.protocol import TF1_FUNCTION_LIMITS
from tfgan1.backends.tf1_graph import ops
from tfgan1.engine import assembly
from tfgan1.engine import noise
from tfgan1.engine import preflight
from tfgan1.errors import UserError
from tfgan1.gan.networks import Networks
from tfgan1.registry import tf1

tf = tfimport.tensorflow()
v1 = tf.compat.v1
_FIELDS = ("generator", "discriminator")


def check(config):
  """Raises UserError for TF1 functions in a config they cannot run (one line)."""
  plugins = {f: registry.ARCHITECTURES.get(getattr(config, f).name, f"{f}.name")
             for f in _FIELDS}
  kinds = {f: tf1.is_tf1_functions(p) for f, p in plugins.items()}
  if not any(kinds.values()):
    return
  for field in _FIELDS:
    spec = getattr(config, field)
    if not kinds[field]:
      raise UserError(f"{field}.name: {spec.name!r} is a Keras builder; with TF1 "
                      "functions (tf1_networks) both networks must be TF1 functions")
    if spec.kwargs:
      raise UserError(f"{field}.{sorted(spec.kwargs)[0]}: not allowed for TF1 functions "
                      f"({spec.name!r}); they take no kwargs ({TF1_FUNCTION_LIMITS})")
  if config.ema is not None:
    raise UserError(f"ema: not supported with TF1 functions ({config.generator.name!r}): "
                    f"there is no Keras model to average; remove the ema section")


def _check_data(spec):
  if spec.num_classes:
    raise UserError("data: labelled data is not supported with TF1 functions "
                    "(generator(z, is_training) takes no labels); set labels: false")


def _functions(config):
  return (registry.ARCHITECTURES.get(config.generator.name).tf1_generator,
          registry.ARCHITECTURES.get(config.discriminator.name).tf1_discriminator)


def _shapes(config, spec, batch):
  return [batch, config.noise.dim], [batch, *spec.shape]


def _check_output(field, out, want):
  shape = tuple(getattr(out, "shape", ()) or ())
  if tuple(shape[1:]) != tuple(want[1:]):
    raise UserError(f"{field}.name: the TF1 {field} returns shape {list(shape)}; "
                    f"expected {[None, *want[1:]]}")


class _NoKerasLayers:
  def _flatten_layers(self, include_self=False):
    """No Keras layers for the core's layer walks (spectral-norm hooks, --verify's
    random-layer note, BatchNorm re-estimation) to find."""
    del include_self
    return []


class GraphNetwork(_NoKerasLayers):
  """A TF1 function as a network of the graph (build it inside the graph)."""

  def __init__(self, fn, field, in_shape, out_shape):
    self.fn, self.name = fn, field
    before = {v.name for v in v1.global_variables()}
    probe = v1.placeholder(tf.float32, in_shape, name=f"{field}_probe")
    _check_output(field, fn(probe, True), out_shape)  # builds the variables
    created = [v for v in v1.global_variables() if v.name not in before]
    scopes = sorted({v.name.split("/")[0] if "/" in v.name else "" for v in created})
    if len(scopes) != 1 or not scopes[0]:
      raise UserError(f"{field}.name: the TF1 {field} must create its variables under "
                      f"one variable_scope of its own; it created "
                      f"{[v.name for v in created][:3] or 'none'}")
    self.scope = scopes[0] + "/"
    self.variables = v1.get_collection(v1.GraphKeys.GLOBAL_VARIABLES, self.scope)
    self.trainable_variables = v1.get_collection(v1.GraphKeys.TRAINABLE_VARIABLES,
                                                 self.scope)

  def __call__(self, x, training=True):
    start = len(v1.get_collection(v1.GraphKeys.UPDATE_OPS))
    reuse = UserError(f"{self.name}.name: the TF1 {self.name} created new variables on a "
                      "second call; open its variable_scope with reuse=tf.compat.v1.AUTO_REUSE")
    count = len(v1.global_variables())  # optimizer slots join the scope later: not these
    try:
      out = self.fn(x, training)
    except ValueError as e:  # get_variable's "Variable ... already exists"
      if "already exists" in str(e):
        raise reuse from None
      raise
    if len(v1.global_variables()) != count:
      raise reuse
    handles = {v.handle.name for v in self.variables}
    for update in v1.get_collection(v1.GraphKeys.UPDATE_OPS)[start:]:
      op = getattr(update, "op", update)  # a tensor or an op, as TF1 allowed
      if op.graph is not self.variables[0].graph:
        continue  # inside a tf.cond branch (a lazy penalty's): it runs with that branch
      if not (op.type.startswith("Assign") and op.inputs[0].name in handles):
        raise UserError(f"{self.name}.name: UPDATE_OPS entry {op.name!r} does not write a "
                        f"variable of scope {self.scope!r}; each network's updates run "
                        "with its own solver")
    return out


def graph_networks(config, spec):
  """(G, D) as GraphNetworks in the default graph, at the train batch size."""
  z_shape, x_shape = _shapes(config, spec, config.train.batch_size)
  generator, discriminator = _functions(config)
  g = GraphNetwork(generator, "generator", z_shape, x_shape)
  d = GraphNetwork(discriminator, "discriminator", x_shape, [None, 1])
  if g.scope == d.scope:  # collected by scope: D would train G's variables too
    raise UserError(f"discriminator.name: the TF1 discriminator creates its variables under "
                    f"the generator's scope {g.scope[:-1]!r}; give each its own variable_scope")
  return g, d


class _Untracked:
  """Holds the traced function out of the checkpoint's and SavedModel's sight
  (they save the variables; the function is rebuilt from the plugin)."""

  def __init__(self, fn):
    self.fn = fn


class EagerNetwork(_NoKerasLayers, tf.Module):
  """A TF1 function traced eagerly (is_training False): `weights` {variable name
  without ':0': variable}, and `net(x)` for sampling and export."""

  def __init__(self, fn, field, in_shape, out_shape):
    super().__init__(name=field)
    ops.route_v1_layers()
    traced = v1.wrap_function(lambda x: fn(x, False),
                              [tf.TensorSpec([None, *in_shape[1:]], tf.float32)])
    _check_output(field, traced.structured_outputs, out_shape)
    self.weights = {v.name[:-len(":0")]: v for v in traced.variables}
    self._traced = _Untracked(traced)

  def __call__(self, x, training=False):
    del training  # only sampling and export call it: inference, as the trace
    return self._traced.fn(x)

  def count_params(self):
    """Every weight's size, statistics too (as Keras counts; the run's banner)."""
    return sum(int(v.shape.num_elements()) for v in self.weights.values())


def eager_networks(config, spec):
  """(G, D) as EagerNetworks."""
  _check_data(spec)
  z_shape, x_shape = _shapes(config, spec, None)
  generator, discriminator = _functions(config)
  return (EagerNetwork(generator, "generator", z_shape, x_shape),
          EagerNetwork(discriminator, "discriminator", x_shape, [None, 1]))


def name_pairs(graph_net, eager_net):
  """[(graph variable, eager variable)] of one network, matched by name."""
  graph = {v.name[:-len(":0")]: v for v in graph_net.variables}
  if set(graph) != set(eager_net.weights):
    odd = sorted(set(graph) ^ set(eager_net.weights))
    raise UserError(f"{graph_net.name}.name: the TF1 {graph_net.name} creates other "
                    f"variables with is_training False than True ({odd[:3]}); the same "
                    "ones are needed to sample")
  return [(graph[k], eager_net.weights[k]) for k in sorted(graph)]


def build(config):
  """The run's parts as `assembly.everything` gives them, with EagerNetworks
  for the networks (no Keras model, no Keras optimizer)."""
  assembly.keras.utils.set_random_seed(config.seed)
  preflight.check_noise_size(config)
  data = assembly.dataset(config)
  generator, discriminator = eager_networks(config, data.spec)
  family = assembly.loss_family(config.loss)
  gan = Networks(generator, discriminator, family, assembly.penalty_terms(config.penalties),
                 g_top_k=assembly.g_top_k(config.train.g_top_k, family, config.loss.name))
  return assembly.Built(data, gan, None, noise.noise_fn(config, data))
