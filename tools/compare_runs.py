"""Prints several runs side by side: hyperparameters, final metrics, steps/s.

    python tools/compare_runs.py runs/*
    python tools/compare_runs.py runs/ring8 runs/ring8_alt --csv > runs.csv

Everything is read from the runs' event files with TensorBoard's own reader
(`event_accumulator`), so the table shows what TensorBoard shows. Runs written
before the tag groups (`train/loss_d`, no hparams, no perf/ scalars) still read:
their hyperparameters come from the workdir's config.yaml and their speed from
the event wall times. Hyperparameters equal in every run are printed once
below the table (all of them go to the CSV).
"""
import csv
import os
import statistics
import sys

from tfgan1.errors import UserError

_SHOWN = ("loss_d", "loss_g", "d_real", "d_fake")  # train metrics in the table


def _scalar(event):
  from tensorboard.util import tensor_util  # pylint: disable=g-import-not-at-top
  return float(tensor_util.make_ndarray(event.tensor_proto))


def _hparams_from_events(acc, tags):
  from tensorboard.plugins.hparams import metadata  # pylint: disable=g-import-not-at-top
  for tag in tags:
    meta = acc.SummaryMetadata(tag).plugin_data
    if meta.plugin_name == metadata.PLUGIN_NAME and tag == metadata.SESSION_START_INFO_TAG:
      info = metadata.parse_session_start_info_plugin_data(meta.content)
      return {k: _plain(v) for k, v in info.hparams.items()}
  return None


def _plain(value):
  """A protobuf Value as Python; numbers are stored as doubles, so 256.0 -> 256."""
  kind = value.WhichOneof("kind")
  got = getattr(value, kind) if kind else None
  return int(got) if isinstance(got, float) and got.is_integer() else got


def _hparams_from_config(run):
  path = os.path.join(run, "config.yaml")
  if not os.path.isfile(path):
    return {}
  from tfgan1 import config as config_lib  # pylint: disable=g-import-not-at-top
  from tfgan1.output import dashboard  # pylint: disable=g-import-not-at-top
  return dashboard.hparams(config_lib.load(path))


def _steps_per_sec(series):
  """Median of perf/steps_per_sec, else the rate between logged points."""
  if "steps_per_sec" in series:
    return statistics.median(v for _, _, v in series["steps_per_sec"][1:] or
                             series["steps_per_sec"])
  points = series.get("loss_d", [])
  if len(points) < 3:
    return float("nan")
  (s0, t0, _), (s1, t1, _) = points[1], points[-1]  # the first includes tracing
  return (s1 - s0) / max(t1 - t0, 1e-9)


def read_run(run):
  """{"run", "hparams": {...}, "metrics": {...}} of one run folder."""
  from tensorboard.backend.event_processing import event_accumulator  # pylint: disable=g-import-not-at-top
  from tfgan1.output import reporting  # pylint: disable=g-import-not-at-top  (imports TF)
  if not os.path.isdir(run):
    raise UserError(f"runs: {run!r} is not a folder; expected tfgan1 run folders")
  acc = event_accumulator.EventAccumulator(
      run, size_guidance={event_accumulator.TENSORS: 0})
  acc.Reload()
  tags = acc.Tags()["tensors"]
  series = {}
  for tag in tags:
    if acc.SummaryMetadata(tag).plugin_data.plugin_name == "scalars":
      series[reporting.metric_key(tag)] = [(e.step, e.wall_time, _scalar(e))
                                           for e in acc.Tensors(tag)]
  if not series:
    raise UserError(f"runs: {run!r} holds no TensorBoard scalars; expected a tfgan1 run")
  hparams = _hparams_from_events(acc, tags)
  metrics = {"step": max(p[-1][0] for p in series.values())}
  metrics.update({k: v[-1][2] for k, v in sorted(series.items()) if k.startswith("eval/")})
  metrics.update({k: series[k][-1][2] for k in _SHOWN if k in series})
  metrics["steps/s"] = _steps_per_sec(series)
  return {"run": run, "hparams": hparams if hparams is not None else _hparams_from_config(run),
          "metrics": metrics}


def _text(value):
  if isinstance(value, float):
    return f"{value:.4g}"
  return str(value)


def table(runs):
  """(header, rows, shared) with hparams that differ, then the metrics."""
  keys = sorted({k for r in runs for k in r["hparams"]})
  metric_keys = list(dict.fromkeys(k for r in runs for k in r["metrics"]))
  differ = [k for k in keys if len(runs) == 1 or
            len({_text(r["hparams"].get(k)) for r in runs}) > 1]
  shared = {k: runs[0]["hparams"].get(k) for k in keys if k not in differ}
  header = ["run"] + differ + metric_keys
  rows = [[r["run"]] + [r["hparams"].get(k, "") for k in differ]
          + [r["metrics"].get(k, "") for k in metric_keys] for r in runs]
  return header, rows, shared


def _print_table(runs, out):
  header, rows, shared = table(runs)
  cells = [header] + [[_text(v) for v in row] for row in rows]
  widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
  for row in cells:
    out.write("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() + "\n")
  if shared:
    out.write("same in every run: " + " ".join(f"{k}={_text(v)}" for k, v in shared.items())
              + "\n")


def _print_csv(runs, out):
  keys = sorted({k for r in runs for k in r["hparams"]})
  metric_keys = list(dict.fromkeys(k for r in runs for k in r["metrics"]))
  writer = csv.writer(out)
  writer.writerow(["run"] + keys + metric_keys)
  for r in runs:
    writer.writerow([r["run"]] + [r["hparams"].get(k, "") for k in keys]
                    + [r["metrics"].get(k, "") for k in metric_keys])


_USAGE = "usage: compare_runs.py RUN... [--csv]"


def main(argv):
  args = argv[1:]
  if {"-h", "--help", "--helpshort", "--helpfull"} & set(args):
    print(__doc__.strip() + "\n\n" + _USAGE)
    sys.exit(0)
  as_csv = "--csv" in args
  runs = [a for a in args if a != "--csv"]
  try:
    unknown = [a for a in runs if a.startswith("-")]
    if unknown:
      raise UserError(f"unknown option {unknown[0]!r}; {_USAGE}")
    if not runs:
      raise UserError(f"runs: missing; {_USAGE}")
    results = [read_run(r) for r in runs]
  except UserError as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(2)
  (_print_csv if as_csv else _print_table)(results, sys.stdout)


if __name__ == "__main__":
  main(sys.argv)
