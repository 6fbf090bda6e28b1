"""The conditional update, chosen once: on one device a `tf.cond`, under a
tf.distribute strategy an update that always runs and is undone when refused.

Under a strategy the optimizer all-reduces its gradients (a merge_call), which
TF forbids inside `tf.cond`. So there every replica's verdict is all-reduced
first, and all of them keep or undo the same step.
"""
from tfgan1 import tfimport

tf = tfimport.tensorflow()


def snapshot(variables):
  """The variables' current values, for `restore_unless` (TF copies a variable's
  buffer only when it is written while this read is alive)."""
  return [tf.identity(tf.convert_to_tensor(v)) for v in variables]


def run(update):
  """Calls `update()` and returns True: a `tf.cond` branch needs a tensor."""
  update()
  return tf.constant(True)


def _put_back(variables, saved):
  for v, value in zip(variables, saved):
    v.assign(value)
  return tf.constant(False)


class OneDevice:
  """Skips a refused update outright."""
  replicated = False

  def agree(self, flag):
    return flag

  def apply_if(self, ok, update, forward_state=((), ())):
    """`update()` when `ok`; else puts `forward_state` (variables, saved) back."""
    tf.cond(ok, lambda: run(update), lambda: _put_back(*forward_state))

  def restore_unless(self, ok, variables, saved):
    tf.cond(ok, lambda: tf.constant(True), lambda: _put_back(variables, saved))

  def after_update(self, ok, fn):
    """`fn()` (the EMA) only after a kept update."""
    tf.cond(ok, lambda: run(fn), lambda: tf.constant(False))


class Replicated:
  """Applies every update and undoes a refused one (no `tf.cond` around replicated writes)."""
  replicated = True

  def agree(self, flag):
    """`flag` and'ed over the replicas (ReduceOp has no MIN: count the bad)."""
    context = tf.distribute.get_replica_context()
    bad = context.all_reduce(tf.distribute.ReduceOp.SUM,
                             tf.cast(tf.logical_not(flag), tf.float32))
    return bad < 0.5

  def apply_if(self, ok, update, forward_state=((), ())):
    update()  # `forward_state` then covers every variable the step writes
    self.restore_unless(ok, *forward_state)

  def restore_unless(self, ok, variables, saved):
    for v, value in zip(variables, saved):
      v.assign(tf.where(ok, tf.convert_to_tensor(v), value))

  def after_update(self, ok, fn):
    del ok  # a refused step left G's weights as they were: the average only
    fn()    # moves towards them
