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


REFERENCES = {"tf_tutorial": tf_tutorial, "keras_io": keras_io}
