"""Steps per second of one device against `mirrored`, interleaved in one process.

    python tools/bench_distribute.py --config configs/ring8.yaml --steps 100 --rounds 5

On a machine without GPUs the CPU is split into `--cpus` logical devices first
(before TensorFlow sets up its devices) and `mirrored` runs over all of them; with
GPUs it runs over all local GPUs. Both runs take the same global
`train.batch_size`, so the mirrored one gives each replica 1/N of it. Rounds of
`--steps` steps alternate between the two runs so both see the same machine load.
"""
from absl import app
from absl import flags

from tfgan1 import benchmark
from tfgan1.errors import run_tool

FLAGS = flags.FLAGS
benchmark.define_flags(flags, steps=50, rounds=5, warmup=5)
flags.DEFINE_integer("cpus", 2, "Logical CPU devices to split the CPU into when there is no GPU.")


def _mirrored_devices(tf):
  """The devices `mirrored` runs on: all GPUs, else `--cpus` logical CPUs."""
  if tf.config.list_physical_devices("GPU"):
    return []  # MirroredStrategy's own default: every local GPU
  cpu = tf.config.list_physical_devices("CPU")[0]
  tf.config.set_logical_device_configuration(
      cpu, [tf.config.LogicalDeviceConfiguration()] * FLAGS.cpus)
  return [f"/cpu:{i}" for i in range(FLAGS.cpus)]


def _main():
  benchmark.check_flags(FLAGS)
  benchmark.check_at_least(2, cpus=FLAGS.cpus)
  devices = _mirrored_devices(benchmark.tensorflow())
  mirrored = ["distribute.strategy=mirrored", f"distribute.devices=[{', '.join(devices)}]"]
  runs = {"one device": benchmark.build_run(FLAGS.config, FLAGS.set),
          "mirrored": benchmark.build_run(FLAGS.config, FLAGS.set + mirrored)}
  rates = benchmark.interleave(runs, FLAGS.steps, FLAGS.rounds, FLAGS.warmup)
  config = runs["one device"].config
  replicas = runs["mirrored"].strategy.num_replicas_in_sync
  print(f"config {FLAGS.config} {' '.join(FLAGS.set)}, global batch "
        f"{config.train.batch_size}, mirrored over {replicas} replicas "
        f"({', '.join(devices) or 'all GPUs'}), {FLAGS.rounds} rounds x {FLAGS.steps} steps")
  benchmark.print_rates(rates, "one device")


def main(argv):
  run_tool(_main, argv)


if __name__ == "__main__":
  app.run(main)
