"""Drops two known-harmless TensorFlow C++ error lines from the console.

Grappler's remapper tries to fuse Conv2D + BiasAdd + LeakyRelu into one
`_FusedConv2D`. In a training graph LeakyRelu's gradient (LeakyReluGrad) also
reads the BiasAdd output, which the fused node would remove; grappler's
graph-mutation check refuses that rewrite, and the meta-optimizer logs

    E0000 ... meta_optimizer.cc:967] remapper failed: INVALID_ARGUMENT:
    Mutation::Apply error: fanout '.../LeakyReluGrad' exist for missing node '.../BiasAdd'

and keeps the graph from before the remapper pass (a failed grappler pass is
not fatal). Nothing is computed differently: that function just runs
without the remapper's fusions. Plain Keras models with Conv2D + LeakyReLU
print the same line (e.g. github.com/jrayzhang6/CFR-RL/issues/7); the
project's spectral-norm wrapper and plain Conv2D both trigger it. It comes
from C++ straight to file descriptor 2 while the first call of a train step
builds and optimizes its graph, so that call runs with fd 2 pointed at a
temporary file, replayed afterwards without this line (all of it if the call
fails).

The second: when TF starts its runtime on a machine that has the CUDA libraries
but no usable GPU driver (or CUDA_VISIBLE_DEVICES=""), it logs

    E0000 ... cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: ...

and runs on the CPU. The run's start banner names the devices it uses, so a
user who expected a GPU sees it there; building a run (which starts the
runtime) is captured the same way.
"""
import functools
import os
import re
import sys
import tempfile

_HARMLESS = re.compile(
    r"^E\d{4} .*(meta_optimizer\.cc:\d+\] remapper failed: INVALID_ARGUMENT: "
    r"Mutation::Apply error: fanout '[^']*LeakyReluGrad' exist for missing node "
    r"|cuda_platform\.cc:\d+\] failed call to cuInit: ).*\n?", re.M)


def filter_text(text):
  """`text` without the harmless remapper lines."""
  return _HARMLESS.sub("", text)


def quiet_call(fn, *args, **kwargs):
  """`fn(*args, **kwargs)` with the harmless lines it prints dropped."""
  sys.stderr.flush()
  saved = os.dup(2)
  failed = True
  with tempfile.TemporaryFile(mode="w+b") as sink:
    os.dup2(sink.fileno(), 2)
    try:
      result = fn(*args, **kwargs)
      failed = False
    finally:
      sys.stderr.flush()
      os.dup2(saved, 2)
      os.close(saved)
      sink.seek(0)
      text = sink.read().decode(errors="replace")
      sys.stderr.write(text if failed else filter_text(text))
      sys.stderr.flush()
  return result


def quiet_first_call(fn):
  """Wraps `fn` so that its first call drops the harmless remapper line."""
  state = {"first": True}

  @functools.wraps(fn)
  def wrapper(*args, **kwargs):
    if not state["first"]:
      return fn(*args, **kwargs)
    state["first"] = False
    return quiet_call(fn, *args, **kwargs)

  return wrapper
