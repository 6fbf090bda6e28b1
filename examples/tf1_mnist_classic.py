"""A classic TF1 GAN script (the `D_solver` / `G_solver` kind): an MLP GAN on MNIST.

    python examples/tf1_mnist_classic.py   # the MNIST test split in ../shared/data/mnist

Plain TF1 up to its last lines: placeholders, `variable_scope`, `tf.layers`,
BatchNorm's UPDATE_OPS, two AdamOptimizers, `sess.run([D_solver, G_solver],
feed_dict=...)`. The end scores the samples with tfgan1's MNIST-FD, as a tfgan1
run is scored. docs/guide/tf1.md turns `generator` and `discriminator` into a
tfgan1 run unchanged.
"""
import gzip
import os

import numpy as np

import tfgan1
from tfgan1.backends.tf1_graph import ops

ops.route_v1_layers()  # Keras 3 has no tf.layers: tf_keras' copy (as TF_USE_LEGACY_KERAS=1)
import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top,wrong-import-position

DATA = "../shared/data/mnist"
SEED = 0
STEPS, BATCH, NOISE, NUM_EVAL = 3000, 64, 64, 5000


def load_mnist(folder):
  """The IDX images as float32 [N, 28, 28, 1] in [-1, 1]."""
  with gzip.open(os.path.join(folder, "t10k-images-idx3-ubyte.gz")) as f:
    pixels = np.frombuffer(f.read(), np.uint8, offset=16)
  return pixels.reshape(-1, 28, 28, 1).astype(np.float32) / 127.5 - 1.0


def generator(z, is_training):
  with tf.variable_scope("G", reuse=tf.AUTO_REUSE):
    h = tf.nn.relu(tf.layers.batch_normalization(tf.layers.dense(z, 256), training=is_training))
    h = tf.nn.relu(tf.layers.batch_normalization(tf.layers.dense(h, 512), training=is_training))
    return tf.reshape(tf.tanh(tf.layers.dense(h, 784)), [-1, 28, 28, 1])


def discriminator(x, is_training):
  del is_training  # no BatchNorm in D
  with tf.variable_scope("D", reuse=tf.AUTO_REUSE):
    h = tf.nn.leaky_relu(tf.layers.dense(tf.layers.flatten(x), 512), 0.2)
    h = tf.nn.leaky_relu(tf.layers.dense(h, 256), 0.2)
    return tf.layers.dense(h, 1)


def main():
  images = load_mnist(DATA)
  rng = np.random.RandomState(SEED)
  graph = tf.Graph()  # not tf.disable_v2_behavior(): the rest of the process stays eager
  with graph.as_default():
    tf.set_random_seed(SEED)
    X = tf.placeholder(tf.float32, [BATCH, 28, 28, 1])
    Z = tf.placeholder(tf.float32, [BATCH, NOISE])
    D_real, D_fake = discriminator(X, True), discriminator(generator(Z, True), True)
    D_loss = tf.reduce_mean(tf.nn.softplus(-D_real)) + tf.reduce_mean(tf.nn.softplus(D_fake))
    G_loss = tf.reduce_mean(tf.nn.softplus(-D_fake))  # non-saturating
    D_vars = tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES, "D")
    G_vars = tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES, "G")
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS, "G")):
      G_solver = tf.train.AdamOptimizer(2e-4, beta1=0.5).minimize(G_loss, var_list=G_vars)
    D_solver = tf.train.AdamOptimizer(2e-4, beta1=0.5).minimize(D_loss, var_list=D_vars)
    Z_eval = tf.placeholder(tf.float32, [None, NOISE])
    samples = generator(Z_eval, False)
    sess = tf.Session(graph=graph)
    sess.run(tf.global_variables_initializer())
  for _ in range(STEPS):
    batch = images[rng.randint(0, len(images), BATCH)]
    noise = rng.normal(size=[BATCH, NOISE])
    sess.run([D_solver, G_solver], feed_dict={X: batch, Z: noise})
  fakes = sess.run(samples, {Z_eval: rng.normal(size=[NUM_EVAL, NOISE])})
  tfgan1.load_plugins()  # the rest is tfgan1's scoring of the same digits
  data = tfgan1.DATASETS.get("mnist")(path=DATA, split="test")
  print(tfgan1.EVALUATORS.get("mnist")(data).evaluate(fakes))


if __name__ == "__main__":
  main()
