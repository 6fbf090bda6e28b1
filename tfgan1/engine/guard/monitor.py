"""Counts refused steps on device and remembers why the run should stop; the host
reads that record only at logging steps (`check`)."""
from tfgan1 import tfimport
from tfgan1.errors import NonFiniteStop

tf = tfimport.tensorflow()


def _variable(value, dtype, name):
  return tf.Variable(value, dtype=dtype, trainable=False, name=name)


class SkipMonitor:
  """`on_nonfinite`: "stop" (the first bad step stops the run at the next log)
  or "skip" (stop only after more than `max_skipped_steps` skips in a row)."""

  def __init__(self, on_nonfinite="stop", max_skipped_steps=0):
    self.stop_at_first = on_nonfinite == "stop"
    self.max_skipped = max_skipped_steps
    self.skipped = _variable(0, tf.int64, "skipped_steps")
    # Not checkpointed: a resumed run starts a fresh streak and no stop record.
    self.in_a_row = _variable(0, tf.int64, "skipped_in_a_row")
    self.stop_step = _variable(0, tf.int64, "stop_step")  # 0: no stop wanted
    self.stop_what = _variable(0, tf.int32, "stop_what")
    self.stop_value = _variable(0.0, tf.float32, "stop_value")
    self.names = []  # the checked quantities, in order (set when tracing)

  def record(self, verdict, step, alarm):
    """Counts a skipped step; remembers the first reason to stop at `step`."""
    self.names = verdict.names
    skipped = tf.logical_not(verdict.ok)
    self.skipped.assign_add(tf.cast(skipped, tf.int64))
    in_a_row = tf.where(verdict.ok, tf.constant(0, tf.int64), self.in_a_row + 1)
    self.in_a_row.assign(in_a_row)
    stop = alarm if self.stop_at_first else in_a_row > self.max_skipped
    new = stop & tf.equal(self.stop_step, 0)
    self.stop_step.assign(tf.where(new, tf.cast(step, tf.int64), self.stop_step))
    self.stop_what.assign(tf.where(new, verdict.first, self.stop_what))
    self.stop_value.assign(tf.where(new, verdict.value, self.stop_value))

  def stop_record(self):
    """(stop_step, stop_what, stop_value): what `check` reads (a graph reads them
    in its session instead)."""
    return self.stop_step, self.stop_what, self.stop_value

  def check(self, values=None):
    """On the host: raises NonFiniteStop naming the quantity and the step.
    `values`: `stop_record()`'s values when read elsewhere (a tf1_graph session)."""
    step, what, value = values if values is not None else [
        v.numpy() for v in self.stop_record()]
    step = int(step)
    if not step:
      return
    name = self.names[int(what)] if self.names else "a loss"
    value = float(value)
    text = f"{name} is {value} at step {step}"
    if not self.stop_at_first:
      text += f" (more than {self.max_skipped} skipped steps in a row)"
    raise NonFiniteStop(text)
