"""Trains the small MNIST CNN that the `mnist` evaluator scores digits with.

    python tools/train_mnist_classifier.py                       # ../shared/data/mnist
    python tools/train_mnist_classifier.py --data /path/to/mnist  # IDX folder or .npz
    python tools/train_mnist_classifier.py --data keras           # keras.datasets (full)

Full MNIST (a source with both the train and the test split) trains on the 60k
training digits and reports accuracy on the 10k test digits. A source with one
split (such as the 10k test set alone) is split into training and held-out
digits by a fixed seed, the same split the evaluator uses. The network is saved
to --out, by default where the evaluator looks (~/.cache/tfgan1/).
"""
from absl import app
from absl import flags

from tfgan1.errors import UserError
from toolkit import run_tool

FLAGS = flags.FLAGS
flags.DEFINE_string("data", "../shared/data/mnist",
                    "MNIST IDX folder or .npz; 'keras' for keras.datasets.mnist.")
flags.DEFINE_string("out", None, "Where to save the .keras file (default: the cache).")
flags.DEFINE_integer("epochs", 6, "Training epochs.")
flags.DEFINE_integer("width", 32, "Channels of the first conv layer.")
flags.DEFINE_integer("seed", 0, "Weights and shuffling seed.")


def _labelled(data):
  if data.labels is None:
    raise UserError(f"--data: {FLAGS.data!r} has no label files "
                    "(*-labels-idx1-ubyte[.gz] or y_* arrays); the classifier needs them")
  return data.images, data.labels


def load_sets(path):
  """(train, held-out, description): each set a pair (uint8 images, labels)."""
  from tfgan1.registry import loader as plugin_loader  # pylint: disable=g-import-not-at-top
  plugin_loader.load_all()
  from tfgan1.plugins.datasets.mnist import MNIST  # pylint: disable=g-import-not-at-top
  from tfgan1.plugins.evaluators import mnist  # pylint: disable=g-import-not-at-top
  try:
    train, test = MNIST(path, "train"), MNIST(path, "test")
    return _labelled(train), _labelled(test), "full MNIST: train split vs test split"
  except UserError as e:
    if "split" not in str(e):
      raise
  one = None
  for name in ("test", "train"):
    try:
      one = MNIST(path, name)
      break
    except UserError:
      continue
  if one is None:
    raise UserError(f"--data: {path!r} holds no MNIST images; expected an IDX folder or .npz")
  images, labels = _labelled(one)
  keep, held = mnist.split(len(images))
  return ((images[keep], labels[keep]), (images[held], labels[held]),
          f"one split of {len(images)} digits, {len(keep)} train / {len(held)} held out "
          f"by seed {mnist.SPLIT_SEED}: not full MNIST")


def _main():
  from tfgan1.plugins.evaluators import mnist  # pylint: disable=g-import-not-at-top
  path = None if FLAGS.data == "keras" else FLAGS.data
  out = FLAGS.out or mnist.default_classifier_path()
  try:
    train, held, what = load_sets(path)
  except UserError as e:  # the dataset plugin names its config key; here it is a flag
    message = str(e)
    if message.startswith("data.path: "):
      message = message[len("data.path: "):].replace("null to use", "keras to use")
      raise UserError("--data: " + message) from None
    raise
  accuracy = mnist.train_classifier(train, held, out, FLAGS.epochs, FLAGS.width, FLAGS.seed)
  print(f"held-out accuracy {100 * accuracy:.2f}% on {len(held[0])} digits ({what}); "
        f"saved {out}")
  if what.startswith("full MNIST") and accuracy < 0.98:  # not "... not full MNIST"
    print("warning: below the 98% expected on full MNIST; train longer (--epochs)")


def main(argv):
  run_tool(_main, argv)


if __name__ == "__main__":
  app.run(main)
