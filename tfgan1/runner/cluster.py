"""What a multi_worker job does when one of its workers dies or is preempted.

A dead worker: TF's coordination service stops hearing its heartbeats after
`distribute.peer_timeout_s` (configured in `tfgan1.engine.distribute`) and aborts
every survivor's collectives with an error naming the silent task, or, when the
leader (worker 0 or the chief) died, with "Failed to send RPC to coordination
service". `peer_lost` turns either into one `RestartAll` line naming the worker,
its address from TF_CONFIG and the last checkpoint.

Preemption: SIGTERM on any worker sets a flag; after every call of the train step
all workers all-reduce their flags (`StopVote`), so they all learn of it at the
same step, save a checkpoint of that step and stop with `RestartAll`.
"""
import json
import os
import re
import signal

from tfgan1 import tfimport
from tfgan1.engine import distribute
from tfgan1.errors import RestartAll
from tfgan1.runner import checkpoints

tf = tfimport.tensorflow()

# TF 2.21's ways of naming a lost peer, most specific first: the coordination
# service's list of tasks without heartbeats, its heartbeat timeout, and a failed
# RPC to a task (a collective's RecvBuf, or the heartbeat to a dead leader).
_LOST = [re.compile(r"unhealthy[^\n]*\n\s*/job:(\w+)/replica:\d+/task:(\d+)"),
         re.compile(r"Task /job:(\w+)/replica:\d+/task:(\d+) heartbeat timeout"),
         re.compile(r"remote target /job:(\w+)/replica:\d+/task:(\d+)")]


def _address(job, index):
  """`host:port` of task `job`/`index` in TF_CONFIG, or '?' when it is not there."""
  try:
    return json.loads(os.environ["TF_CONFIG"])["cluster"][job][index]
  except (KeyError, IndexError, ValueError, TypeError):
    return "?"


def last_step(workdir):
  """The step of the newest checkpoint in the shared workdir, or 0."""
  found = checkpoints.candidates(os.path.join(workdir, checkpoints.SUBDIR))
  return checkpoints.step_of(found[0]) if found else 0


def peer_lost(err, workdir):
  """The one-line RestartAll for a TF error that says a peer is gone, else None."""
  if not isinstance(err, tf.errors.OpError):
    return None
  text = str(err)
  own = distribute.tf_config_task()
  found = [(m.group(1), int(m.group(2))) for pattern in _LOST for m in pattern.finditer(text)]
  found = [task for task in found if task != own]
  if not found:
    return None
  job, index = found[0]
  return RestartAll(f"{job} {index} ({_address(job, index)}) is unreachable; the last "
                    f"checkpoint is step {last_step(workdir)}; restart all workers to resume")


class StopVote:
  """SIGTERM on one worker stops every worker at the same step.

  `install` replaces the SIGTERM handler with one that only sets a flag (a handler
  that raised inside a collective would leave the other workers waiting); `stopping`
  all-reduces the flags of all workers after each train call, a collective every
  worker reaches at the same step.
  """

  def __init__(self, strategy):
    self.strategy = strategy
    self.chief = strategy.extended.should_checkpoint
    self.requested = False
    self._sum = tf.function(self._reduce)

  def _reduce(self, flag):
    per_replica = self.strategy.run(lambda: tf.identity(flag))
    return self.strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

  def install(self):
    def handler(signum, frame):
      del signum, frame
      self.requested = True
    signal.signal(signal.SIGTERM, handler)

  def stopping(self):
    """True on every worker once any worker has had SIGTERM."""
    return float(self._sum(tf.constant(float(self.requested)))) > 0


def stop_vote(strategy):
  """A StopVote under multi_worker; None elsewhere (SIGTERM is then Ctrl-C)."""
  if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
    return StopVote(strategy)
  return None


def preempted(vote, step):
  """The RestartAll every worker raises after saving the preemption checkpoint."""
  who = "this worker" if vote.requested else "another worker"
  return RestartAll(f"preempted: {who} received SIGTERM; every worker saved a checkpoint at "
                    f"step {step}; restart all workers to resume")
