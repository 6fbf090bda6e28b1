"""The graph-building pieces the tf1_graph rules share (`tfgan1.backends.tf1_graph.rules`)."""
import sys
import warnings

from tfgan1 import tfimport

tf = tfimport.tensorflow()
v1 = tf.compat.v1


def tf_keras():
  import tf_keras as module  # pylint: disable=g-import-not-at-top  (legacy backend only)
  route_v1_layers()
  return module


def route_v1_layers():
  """Makes `tf.compat.v1.layers` the TF1 layers a TF1 network function calls.

  With Keras 3 installed it raises ("not available with Keras 3"); TF's switch
  TF_USE_LEGACY_KERAS would route all of tf.keras to tf_keras, which tfgan1's
  Keras 3 side cannot take, so only this module is routed, to the tf_keras copy
  that switch gives. Importing tf_keras replaces `tf.compat.v1` once, hence after.
  """
  from tf_keras.api._v1.keras.__internal__.legacy import layers  # pylint: disable=g-import-not-at-top
  # Each call site's "`tf.layers.dense` is deprecated" note: the user chose TF1 code.
  warnings.filterwarnings("ignore", r"`tf\.layers\.\w+` is deprecated", UserWarning)
  for module in (tf.compat.v1, sys.modules.get("tensorflow.compat.v1")):
    if module is not None and getattr(module, "layers", None) is not layers:
      module.layers = layers


def captured(fn, after=()):
  """(fn(), the stateful Assign ops fn created), those created after `after`.

  Plugins and Keras layers write variables with `variable.assign(...)`, which in
  graph mode only builds an op; collecting what they built lets the solver run it.
  """
  graph = v1.get_default_graph()
  with tf.control_dependencies(list(after)):
    start = len(graph.get_operations())
    result = fn()
    new = graph.get_operations()[start:]
  return result, [op for op in new if op.type.startswith("Assign")]


def chain(ops):
  """Orders `ops` as they were created (as TF2's automatic control dependencies
  would), so two BatchNorm updates of one variable never interleave: each write
  runs after the one before, and so do its reads of the variable it writes."""
  for prev, op in zip(ops, ops[1:]):
    op._add_control_input(prev)  # pylint: disable=protected-access
    before = ancestors([prev])
    for read in ancestors([t.op for t in op.inputs[1:]]):
      if (read.type == "ReadVariableOp" and read.inputs[0].name == op.inputs[0].name
          and read not in before):
        read._add_control_input(prev)  # pylint: disable=protected-access
  return ops


def ancestors(start):
  """Every op that `start`'s ops need, through data and control inputs, and them."""
  seen, stack = set(), list(start)
  while stack:
    op = stack.pop()
    if op not in seen:
      seen.add(op)
      stack.extend([t.op for t in op.inputs] + list(op.control_inputs))
  return seen


def owned(ops, model):
  """The ops of `ops` that write `model`'s variables."""
  handles = {v.handle.name for v in model.variables}
  return [op for op in ops if op.inputs and op.inputs[0].name in handles]


def grads(loss, variables):
  """d loss / d variables, zeros where a variable does not reach the loss."""
  grads = tf.gradients(loss, variables)
  return [tf.zeros_like(v) if g is None else g for g, v in zip(grads, variables)]


def fence(grads, metrics):
  """Every gradient and metric of the step, computed before any weight changes."""
  return tf.control_dependencies(grads + list(metrics.values()))
