"""`train.on_nonfinite` inside the tf1_graph step: a step whose losses or
gradients are not finite changes no weight, slot, statistic or EMA weight.

The TF2 engine's guard skips the update with a `tf.cond` around it. Here the
update ops are the plain ops of a `tf.compat.v1` graph (`D_solver`, `G_solver`,
fetched in one `sess.run`), so the step runs and is put back: every variable it
writes is read first (`snapshot`), and a refused step assigns those values back
(a `tf.cond` after the step). This is how TF2's `alternating` rule undoes its
updates too. The verdict (`tfgan1.engine.guard.verdict`) and the skip counter
and stop record (`SkipMonitor`, whose `check` gives the one-line message) are
TF2's own, built as graph ops.

With `alternating` a step is n_d + n_g session calls, so the snapshot is kept in
scratch variables (`save`, run before the first D call) and each call notes the
first bad quantity; the last call decides.
"""
from tfgan1 import tfimport
from tfgan1.backends.tf1_graph import ops
from tfgan1.engine.guard.monitor import SkipMonitor
from tfgan1.engine.guard.verdict import Verdict, verdict
from tfgan1.engine.rules.base import checked

tf = tfimport.tensorflow()

_WRITERS = ("Assign", "ResourceApply", "ResourceScatter")


def _put_back(variables, saved):
  """Assigns `saved` to `variables`; False once done (a cond branch's output
  must depend on its writes: a plain graph adds no control dependencies)."""
  with tf.control_dependencies([v.assign(s) for v, s in zip(variables, saved)]):
    return tf.constant(False)


def _kept():
  return tf.constant(True)


class GraphGuard:
  """The guard's ops in one GraphTrainer's graph (build inside it)."""

  def __init__(self, train_cfg):
    self.monitor = SkipMonitor(train_cfg.on_nonfinite, train_cfg.max_skipped_steps)
    self.scratch = [self.monitor.in_a_row, *self.monitor.stop_record()]
    self.skipped = self.monitor.skipped  # checkpointed, as TF2's

  def part(self, metrics, d_grads, g_grads):
    """(the verdict's part for one update, {grad_norm_d, grad_norm_g}): TF2's
    `checked`, whose one pass of squares serves the check and the norms."""
    return checked(dict(metrics), d_grads, g_grads)

  def one_call(self, parts, state, after, step):
    """The guard of a step taken in one session call: `state` is read before any
    op of the graph writes it and put back, after the ops `after`, when a loss
    or gradient in `parts` is not finite. Returns the guard's ops."""
    saved = [tf.identity(v.read_value()) for v in state]
    barrier = tf.group(*[s.op for s in saved])
    handles = {v.handle.name for v in state}
    for op in ops.ancestors(after):
      if op.type.startswith(_WRITERS) and op.inputs and op.inputs[0].name in handles:
        op._add_control_input(barrier)  # pylint: disable=protected-access
    return self._decide(verdict(parts), state, saved, after, step)

  def _decide(self, v, state, saved, after, step):
    with tf.control_dependencies(after):
      record = self._record(v, step)
      restore = tf.cond(v.ok, _kept, lambda: _put_back(state, saved))
    return [record, restore.op]

  def _record(self, v, step):
    graph = tf.compat.v1.get_default_graph()
    start = len(graph.get_operations())
    self.monitor.record(v, step, tf.logical_not(v.ok))
    return tf.group(*[op for op in graph.get_operations()[start:]
                      if op.type.startswith("Assign")])

  def check(self, session):
    """On the host: raises NonFiniteStop as TF2's guard does (one line)."""
    self.monitor.check(session.run(list(self.monitor.stop_record())))

  def skipped_steps(self, after):
    with tf.control_dependencies(after):
      return self.skipped.read_value()


class CallsGuard(GraphGuard):
  """The guard of an `alternating` step: n_d + n_g session calls."""

  def __init__(self, train_cfg, state):
    super().__init__(train_cfg)
    self.state = state
    self.backup = [tf.Variable(tf.zeros(v.shape, v.dtype.base_dtype), trainable=False,
                               name="guard_backup") for v in state]
    self.first = tf.Variable(-1, dtype=tf.int32, trainable=False, name="guard_first")
    self.value = tf.Variable(0.0, trainable=False, name="guard_value")
    self.scratch += [*self.backup, self.first, self.value]
    self.names = []
    writes = [b.assign(v.read_value()) for b, v in zip(self.backup, state)]
    self.save = tf.group(*writes, self.first.assign(-1), name="guard_save")

  def note(self, part, after, offset):
    """Remembers the first bad quantity of this call's `part` (names from `offset`
    in the step's list), after the ops `after`; returns (op, the part's length)."""
    v = verdict([part])
    with tf.control_dependencies(after):
      new = tf.logical_and(self.first.read_value() < 0, tf.logical_not(v.ok))
      notes = [self.first.assign(tf.where(new, offset + v.first, self.first)),
               self.value.assign(tf.where(new, v.value, self.value))]
    return tf.group(*notes), v.names

  def decide(self, names, after, step):
    """The step's verdict from the notes, and the restore: after `after`."""
    self.names = names
    with tf.control_dependencies(after):
      first = self.first.read_value()
      ok = first < 0
      v = Verdict(ok, ok, tf.maximum(first, 0), self.value.read_value(), names)
    return self._decide(v, self.state, self.backup, after, step)
