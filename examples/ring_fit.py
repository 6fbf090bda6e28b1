"""The 8-Gaussian ring trained with Keras `fit` on tfgan1's one-step update.

    python examples/ring_fit.py          # TensorBoard: tensorboard --logdir runs
"""
import tfgan1
import tfgan1.keras  # before keras: imports TensorFlow without its start-up chatter

import keras

tfgan1.load_plugins()  # the built-in datasets, networks and losses
keras.utils.set_random_seed(0)
ring = tfgan1.DATASETS.get("ring8")()
mlp = tfgan1.ARCHITECTURES.get("mlp")
generator = mlp.generator(keras, ring.spec, latent_dim=2, norm="batch_norm")
discriminator = mlp.discriminator(keras, ring.spec)

gan = tfgan1.keras.GAN(generator, discriminator, loss="hinge", ema=0.999)
gan.compile(optimizer=keras.optimizers.Adam(1e-4, beta_1=0.5))
gan.fit(ring.dataset(batch_size=256, seed=0), epochs=20, steps_per_epoch=1000, verbose=2,
        callbacks=[keras.callbacks.TensorBoard("runs/ring_fit"),
                   keras.callbacks.BackupAndRestore("runs/ring_fit/backup")])

samples = gan.ema_generator.predict(keras.random.normal([2500, 2], seed=1), verbose=0)
print(tfgan1.EVALUATORS.get("modes")(ring).evaluate(samples))  # PacGAN's modes, high_quality, reverse_kl
