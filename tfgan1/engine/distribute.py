"""Several devices or machines through TensorFlow's own `tf.distribute` engine.

The `distribute:` section picks the strategy; `default` returns None and the
engine runs today's one-device code unchanged. Under a strategy:

- `train.batch_size` is the global batch. The outer step draws the whole batch of
  data and noise on the host, as on one device, and `split` hands replica i the
  i-th equal slice, so a run reads the same numbers on any number of replicas.
- Each replica computes its slice's mean loss; Keras optimizers SUM gradients
  across replicas, so `scale_gradients` divides by the replica count first
  (the arithmetic of `tf.nn.compute_average_loss`): the applied gradient is that
  of the global-batch mean, penalties included.
- Metrics are the mean over replicas of each replica's value.
"""
import atexit
import contextlib
import json
import os
import shutil
import tempfile

from absl import logging

from tfgan1 import tfimport
from tfgan1.errors import UserError, describe

tf = tfimport.tensorflow()


def _mirrored(cfg):
  return tf.distribute.MirroredStrategy(devices=list(cfg.devices) or None)


def _multi_worker(cfg):
  task = tf_config_task()
  if task is None:
    raise UserError("distribute.strategy: 'multi_worker' needs the TF_CONFIG environment "
                    "variable (cluster and task, see docs/guide/distributed.md)")
  _coordinate(cfg.peer_timeout_s)
  return tf.distribute.MultiWorkerMirroredStrategy()


def _coordinate(timeout_s):
  """Configures TF's coordination service as MultiWorkerMirroredStrategy would,
  but with `distribute.peer_timeout_s` as its heartbeat timeout: a worker silent
  that long is declared dead and every survivor's pending collective is aborted
  (TF's default leaves a survivor blocked for minutes)."""
  from tensorflow.compiler.xla.tsl.protobuf import coordination_config_pb2  # pylint: disable=g-import-not-at-top
  from tensorflow.python.eager import context  # pylint: disable=g-import-not-at-top
  spec = tf.distribute.cluster_resolver.TFConfigClusterResolver().cluster_spec()
  jobs = [coordination_config_pb2.CoordinatedJob(name=job, num_tasks=spec.num_tasks(job))
          for job in ("chief", "worker") if job in spec.jobs]
  leader = "/job:chief/replica:0/task:0" if "chief" in spec.jobs else "/job:worker/replica:0/task:0"
  context.context().configure_coordination_service(
      service_type="standalone", service_leader=leader, coordinated_jobs=jobs,
      heartbeat_timeout_in_ms=timeout_s * 1000,
      # At exit every worker waits for the others, so the other workers wait for
      # the chief's final evaluation (minutes for FID); a dead chief is caught by
      # the heartbeat, not by this bound.
      shutdown_barrier_timeout_in_ms=max(timeout_s, 3600) * 1000)


def _tpu(cfg):
  """TPUStrategy on the TPU named by TPU_NAME (or the local one). Untested here."""
  del cfg
  resolver = tf.distribute.cluster_resolver.TPUClusterResolver(
      tpu=os.environ.get("TPU_NAME", ""))
  tf.config.experimental_connect_to_cluster(resolver)
  tf.tpu.experimental.initialize_tpu_system(resolver)
  return tf.distribute.TPUStrategy(resolver)


_MAKERS = {"mirrored": _mirrored, "multi_worker": _multi_worker, "tpu": _tpu}


def tf_config_task():
  """(type, index) of this process from TF_CONFIG, or None when it is not set."""
  raw = os.environ.get("TF_CONFIG")
  if not raw:
    return None
  try:
    task = json.loads(raw)["task"]
    return task["type"], int(task["index"])
  except (ValueError, KeyError, TypeError) as e:
    raise UserError(f"TF_CONFIG: {raw[:60]!r} is not allowed; expected JSON with "
                    f"'cluster' and 'task': {{'type', 'index'}} ({describe(e)})") from None


def make(config):
  """The run's strategy, or None for `default` (one device, the plain code path).

  Call it before any other TensorFlow work: MultiWorkerMirroredStrategy must be
  created first in the program.
  """
  cfg = config.distribute
  if cfg.devices and cfg.strategy != "mirrored":
    raise UserError(f"distribute.devices: {list(cfg.devices)!r} is not allowed with "
                    f"strategy {cfg.strategy!r}; devices are for strategy mirrored")
  if cfg.strategy == "default":
    return None
  try:
    strategy = _MAKERS[cfg.strategy](cfg)
  except UserError:
    raise
  except Exception as e:  # pylint: disable=broad-except  (TF raises many kinds here)
    raise UserError(f"distribute.strategy: {cfg.strategy!r} cannot start here: "
                    f"{describe(e)}") from None
  check_batch(config.train.batch_size, strategy.num_replicas_in_sync, cfg.strategy)
  if strategy.num_replicas_in_sync == 1:
    logging.warning("distribute.strategy %r has one replica here (%s): no faster than "
                    "default", cfg.strategy, ", ".join(strategy.extended.worker_devices))
  return strategy


def check_batch(batch_size, replicas, name):
  """The global batch must split into equal per-replica slices."""
  if batch_size % replicas:
    raise UserError(f"train.batch_size: {batch_size} is not allowed; the global batch "
                    f"must be divisible by the {replicas} replicas of {name!r}")


def scope(strategy):
  """`strategy.scope()`, or nothing for the default strategy."""
  return strategy.scope() if strategy is not None else contextlib.nullcontext()


def is_chief(strategy):
  """True in the process that writes the workdir: always, except for multi_worker
  workers other than the chief (worker 0 when TF_CONFIG names no `chief`)."""
  return strategy is None or strategy.extended.should_checkpoint


def split(strategy, values):
  """Replica i gets the i-th of equal slices (along axis 0) of every tensor in `values`."""
  count = strategy.num_replicas_in_sync

  def shard(ctx):
    i = ctx.replica_id_in_sync_group
    return tf.nest.map_structure(lambda t: tf.split(t, count)[i], values)

  return strategy.experimental_distribute_values_from_function(shard)


def scale_gradients(grads):
  """Divides each replica's gradients by the replica count (no-op on one device)."""
  count = tf.distribute.get_strategy().num_replicas_in_sync
  if count == 1:
    return grads
  return [g / count for g in grads]


def replica_seed(seed):
  """A different stateless seed per replica, so random penalties (interpolation
  points) are not repeated in every slice."""
  replica = tf.distribute.get_replica_context().replica_id_in_sync_group
  return tf.random.experimental.stateless_fold_in(seed, tf.cast(replica, tf.int64))


def mean(strategy, metrics):
  """The replicas' mean of each scalar in a flat metrics dict."""
  return {k: strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None)
          for k, v in metrics.items()}


def _synchronize(model):
  keras = tfimport.keras()
  layers = [layer for layer in model._flatten_layers(include_self=False)  # pylint: disable=protected-access
            if isinstance(layer, keras.layers.BatchNormalization)]
  for layer in layers:
    layer.synchronized = True
  return len(layers)


def synchronize_batch_norm(gan):
  """Sets `synchronized=True` on every Keras BatchNormalization layer of G and D:
  in training their statistics are then the global batch's, all-reduced per call,
  and the run matches the one-device run."""
  _synchronize(gan.generator)
  if _synchronize(gan.discriminator) > 1 and gan.penalties:
    # Measured: R1's double backward through two synchronized BatchNorm layers
    # differs from the one-device gradient by up to 40% of its size (one layer: exact).
    logging.warning("distribute.sync_batch_norm: gradient penalties through a D with "
                    "several synchronized BatchNorm layers do not match the one-device "
                    "gradients (TF's double backward through the all-reduce)")


def output_dir(strategy, workdir):
  """Where this process writes: `workdir`, or for a multi_worker worker other than
  the chief a temporary folder removed at exit (every worker must save its
  checkpoints, as TF's multi-worker guide says, but only the chief's are kept)."""
  if is_chief(strategy):
    return workdir
  task_id = strategy.cluster_resolver.task_id
  folder = tempfile.mkdtemp(prefix=f"tfgan1-worker{task_id}-")
  _TEMP_FOLDERS.append(folder)
  atexit.register(remove_temp_folders)
  return folder


_TEMP_FOLDERS = []


def remove_temp_folders():
  """Removes this worker's temporary folders (at exit, or before `os._exit`)."""
  while _TEMP_FOLDERS:
    shutil.rmtree(_TEMP_FOLDERS.pop(), ignore_errors=True)


def replica_function(strategy, rule, jit_compile):
  """The update rule as each replica runs it.

  On one device: `tf.function(rule, jit_compile)`, as ever. Under a strategy the
  rule's optimizer all-reduce may not sit in a nested tf.function (TF raises
  "merge_call called while defining a new graph"), except in an XLA-compiled one on
  GPUs only, where TF all-reduces without merge_call. Elsewhere the plain rule is
  traced into the outer step's function and `jit_compile` is not applied.
  """
  if strategy is None:
    return tf.function(rule, jit_compile=jit_compile)
  devices = strategy.extended.worker_devices
  if jit_compile and all("GPU" in d.upper() for d in devices):
    return tf.function(rule, jit_compile=True)
  if jit_compile and not isinstance(strategy, tf.distribute.TPUStrategy):
    logging.warning("train.jit_compile is ignored under distribute.strategy on %s: TF "
                    "compiles a replicated step with XLA on GPUs only", ", ".join(devices))
  return rule


def global_gradients(strategy, fn, real, z, seed):
  """(D grads, G grads) of `fn(real, z, seed)` for the global batch.

  On one device, `fn` itself. Under a strategy each replica runs `fn` on its
  slice and the gradients are all-reduced to their mean (what the train step
  applies: each replica's divided by the count, then summed).
  """
  if strategy is None:
    return fn(real, z, seed)[:2]

  def replica(shards, seed):
    d_grads, g_grads, _ = fn(*shards, seed)
    return tf.distribute.get_replica_context().all_reduce(
        tf.distribute.ReduceOp.MEAN, (d_grads, g_grads))

  @tf.function
  def step(real, z, seed):
    grads = strategy.run(replica, (split(strategy, (real, z)), seed))
    return strategy.experimental_local_results(grads)[0]

  return step(real, z, seed)
