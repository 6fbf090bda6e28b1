"""Plots a run's evaluation curves from its TensorBoard event files to a PNG.

    python tools/plot_eval.py --workdir runs/mnist_dcgan --out mnist_eval.png
    python tools/plot_eval.py --workdir runs/ring8 --metrics modes,high_quality --out ring8.png

One panel per metric (`eval/<metric>` over training steps). Where the run also
logged `eval/<metric>_real` (the MNIST evaluator's real-data floor), it is drawn
beside the curve as a dashed line. Events are read with TensorBoard's own
reader. Needs matplotlib (pip install -e ".[plot]").
"""
from absl import app
from absl import flags

from tfgan1.errors import UserError
from toolkit import run_tool

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "Run folder (holds the events.out.tfevents.* files).")
flags.DEFINE_string("out", "eval.png", "PNG file to write.")
flags.DEFINE_list("metrics", ["mnist_fd", "mnist_is"], "Metrics to plot, comma-separated.")
flags.DEFINE_string("title", None, "Figure title (default: the workdir).")

_LABELS = {"mnist_fd": "MNIST-FD (lower is better)", "mnist_is": "classifier IS (higher is better)"}


def read_scalars(workdir):
  """{tag: [(step, value)]} of every scalar in `workdir`'s event files."""
  from tensorboard.backend.event_processing import event_accumulator  # pylint: disable=g-import-not-at-top
  from tensorboard.util import tensor_util  # pylint: disable=g-import-not-at-top
  acc = event_accumulator.EventAccumulator(
      workdir, size_guidance={event_accumulator.TENSORS: 0})
  acc.Reload()
  out = {}
  for tag in acc.Tags()["tensors"]:
    if acc.SummaryMetadata(tag).plugin_data.plugin_name == "scalars":
      out[tag] = [(e.step, float(tensor_util.make_ndarray(e.tensor_proto)))
                  for e in acc.Tensors(tag)]
  return out


def plot(scalars, metrics, out, title):
  try:
    import matplotlib  # pylint: disable=g-import-not-at-top
  except ImportError:
    raise UserError("--out: plotting needs matplotlib; pip install -e \".[plot]\"") from None
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.2), squeeze=False)
  for ax, metric in zip(axes[0], metrics):
    steps, values = zip(*scalars[f"eval/{metric}"])
    ax.plot(steps, values, "o-", color="tab:blue", ms=3, label="generated (EMA G)")
    real = scalars.get(f"eval/{metric}_real")
    if real:
      ax.axhline(real[-1][1], color="tab:gray", ls="--",
                 label=f"real held-out digits ({real[-1][1]:.3g})")
    ax.set_xlabel("training step")
    ax.set_title(_LABELS.get(metric, metric), fontsize=10)
    if metric.endswith("_fd"):
      ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
  fig.suptitle(title, fontsize=10)
  fig.tight_layout()
  fig.savefig(out, dpi=80)


def _main():
  if not FLAGS.workdir:
    raise UserError("--workdir: missing; give the folder of a tfgan1 run")
  scalars = read_scalars(FLAGS.workdir)
  missing = [m for m in FLAGS.metrics if f"eval/{m}" not in scalars]
  if missing:
    have = sorted(t[5:] for t in scalars if t.startswith("eval/"))
    raise UserError(f"--metrics: {', '.join(missing)} not logged in {FLAGS.workdir!r}; "
                    f"eval metrics there: {', '.join(have) or 'none'}")
  plot(scalars, FLAGS.metrics, FLAGS.out, FLAGS.title or FLAGS.workdir)
  print(f"wrote {FLAGS.out}")


def main(argv):
  run_tool(_main, argv)


if __name__ == "__main__":
  app.run(main)
