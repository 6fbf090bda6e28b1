"""Holding Ctrl-C and SIGTERM until a block of steps is done.

tf1_graph draws the data and noise of several steps in one host call, so the
data iterator and the noise generator run ahead of the step counter until those
steps have run. A checkpoint written in between would not resume exactly; TF2
has no such window because its `steps_per_call` steps are one `tf.function`
call, which a signal cannot split. `held()` gives a block of session calls the
same property: a signal that arrives inside it is delivered when it ends.
"""
import contextlib
import signal
import threading

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def held():
  """Runs the block whole; SIGINT / SIGTERM received in it are raised after it,
  through the handlers installed before it (the run loop's saves a checkpoint)."""
  if threading.current_thread() is not threading.main_thread():
    yield  # Python delivers signals to the main thread only: nothing to hold
    return
  received = []
  before = {s: signal.signal(s, lambda signum, frame: received.append(signum))
            for s in _SIGNALS}
  try:
    yield
  finally:
    for s, handler in before.items():
      signal.signal(s, handler)
    for signum in dict.fromkeys(received):
      signal.raise_signal(signum)  # the handler from before, now the step count is right
