"""Hand-written train steps that `bench.py speed` times beside the engine's rules.

Each takes a built tf2 run (`tfgan1.backends.tf2.Run`: its networks, loss
family, optimizers and data) and returns `step(iterator)`, a function running
one update on the next batch.
All run the same networks on the same batch size with the config's loss family
and Adam settings, so only the structure of the step differs:

- `tf_tutorial`: the TensorFlow DCGAN tutorial's step
  (tensorflow.org/tutorials/generative/dcgan): one G forward, D on the real and
  on the fake batch, two tapes, two gradient calls, two optimizers.
- `keras_io`: the keras.io DCGAN example's `train_step`
  (keras.io/examples/generative/dcgan_overriding_train_step): a D update on the
  fake and real batch concatenated (one D call), then a G update on fresh noise.
- `tf1_session`: the classic TF1 script: a `tf.compat.v1` graph of the same
  networks (built with `tf_keras`, as the tf1_graph backend builds them),
  `D_solver` and `G_solver` from `AdamOptimizer(...).minimize` (G's BatchNorm
  updates grouped with G_solver), stepped by `sess.run([D_solver, G_solver],
  feed_dict={X: batch, Z: noise})` with the batch read from the run's data and
  the noise drawn by NumPy on the host.
- `bare_one_step`: the one-step loss of `tfgan1.gan.objectives` on a constant
  batch, one tape, one optimizer call: the engine's rule without its input
  pipeline, finite check, EMA, metrics or schedule reads.

None has the engine's on-device finite check or EMA; that is part of what the
comparison measures.
"""
from tfgan1.gan import objectives as losses


def _networks(run):
  gan = run.trainer.gan
  return gan, gan.generator, gan.discriminator


def _noise(run, tf, batch):
  dim = run.config.noise.dim
  return tf.random.normal([batch, dim])


def tf_tutorial(run, tf, jit):
  gan, g, d = _networks(run)
  d_opt, g_opt = run.trainer.optimizers["d"], run.trainer.optimizers["g"]

  @tf.function(jit_compile=jit)
  def update(images):
    noise = _noise(run, tf, tf.shape(images)[0])
    with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
      generated = g(noise, training=True)
      real_output = gan.d_call(images)
      fake_output = gan.d_call(generated)
      gen_loss = gan.family.generator_loss(fake_output, real_output)
      disc_loss = gan.family.discriminator_loss(real_output, fake_output)
    g_grads = gen_tape.gradient(gen_loss, g.trainable_variables)
    d_grads = disc_tape.gradient(disc_loss, d.trainable_variables)
    g_opt.apply_gradients(zip(g_grads, g.trainable_variables))
    d_opt.apply_gradients(zip(d_grads, d.trainable_variables))
    return disc_loss

  return lambda iterator: update(next(iterator))


def keras_io(run, tf, jit):
  gan, g, d = _networks(run)
  d_opt, g_opt = run.trainer.optimizers["d"], run.trainer.optimizers["g"]

  @tf.function(jit_compile=jit)
  def update(images):
    batch = tf.shape(images)[0]
    generated = g(_noise(run, tf, batch), training=True)
    with tf.GradientTape() as tape:
      logits = gan.d_call(tf.concat([generated, images], axis=0))
      d_loss = gan.family.discriminator_loss(logits[batch:], logits[:batch])
    grads = tape.gradient(d_loss, d.trainable_variables)
    d_opt.apply_gradients(zip(grads, d.trainable_variables))
    with tf.GradientTape() as tape:  # fresh noise: a second G forward
      g_loss = losses.generator_objective(gan, images, _noise(run, tf, batch))
    grads = tape.gradient(g_loss, g.trainable_variables)
    g_opt.apply_gradients(zip(grads, g.trainable_variables))
    return d_loss

  return lambda iterator: update(next(iterator))


def bare_one_step(run, tf, jit):
  """The run's one_step rule (its form and optimizers) on one constant batch."""
  gan, g, d = _networks(run)
  trainer, cfg = run.trainer, run.config.train
  real = next(run.iterator)
  seed = tf.constant([run.config.seed, 0], tf.int32)
  d_vars, g_vars = list(d.trainable_variables), list(g.trainable_variables)

  @tf.function(jit_compile=jit)
  def update():
    z = _noise(run, tf, cfg.batch_size)
    with tf.GradientTape() as tape:
      total, _ = losses.one_step_objective(gan, real, z, seed, trainer.step, cfg.lambda_,
                                           cfg.one_step_form)
    grads = tape.gradient(total, d_vars + g_vars)
    trainer.optimizers.apply(grads[:len(d_vars)], grads[len(d_vars):], d_vars, g_vars)
    return total

  return lambda iterator: update()


def tf1_session(run, tf, jit):
  """The hand-written `sess.run([D_solver, G_solver], feed_dict=...)` loop."""
  del jit  # a v1 session has no tf.function to compile
  import numpy as np  # pylint: disable=g-import-not-at-top
  from tfgan1.backends.tf1_graph import graph as graph_lib  # pylint: disable=g-import-not-at-top
  from tfgan1.engine import assembly  # pylint: disable=g-import-not-at-top
  config, v1 = run.config, tf.compat.v1
  batch, dim, family = config.train.batch_size, config.noise.dim, run.trainer.gan.family
  lr, adam = config.optimizer.learning_rate, dict(config.optimizer.kwargs)
  lr = lr["value"] if hasattr(lr, "keys") else lr  # a schedule's first value
  with tf.Graph().as_default() as graph:
    G, D = assembly.models(config, run.data.spec, graph_lib.tf_keras())
    X = v1.placeholder(tf.float32, [batch, *run.data.spec.shape])
    Z = v1.placeholder(tf.float32, [batch, dim])

    def forward():
      G_sample = G(Z, training=True)
      return D(X, training=True), D(G_sample, training=True)
    (D_real, D_fake), bn_updates = graph_lib.captured(forward)  # tf.GraphKeys.UPDATE_OPS
    D_loss = family.discriminator_loss(D_real, D_fake)
    G_loss = family.generator_loss(D_fake, D_real)

    def solver(loss, model):
      return v1.train.AdamOptimizer(lr, adam.get("beta_1", 0.9), adam.get("beta_2", 0.999),
                                    adam.get("epsilon", 1e-7)).minimize(
                                        loss, var_list=model.trainable_variables)
    D_solver = solver(D_loss, D)
    G_solver = tf.group(solver(G_loss, G), *bn_updates)
    sess = v1.Session(graph=graph)
    sess.run(v1.global_variables_initializer())
  rng = np.random.default_rng(config.seed)

  def step(iterator):
    noise = (rng.uniform(-1.0, 1.0, (batch, dim)) if config.noise.distribution == "uniform"
             else rng.standard_normal((batch, dim)))
    feed = {X: next(iterator).numpy(), Z: noise.astype(np.float32)}
    return sess.run([D_solver, G_solver, D_loss], feed_dict=feed)[2]
  return step


REFERENCES = {"tf_tutorial": tf_tutorial, "keras_io": keras_io, "tf1_session": tf1_session}
