"""An exponential moving average of the generator's weights (Yazici et al. 2019).

The averaged copy is used for sampling, evaluation and export. Before `start`
the copy simply tracks the generator; BatchNorm statistics are copied, not
averaged, since they already are running means.
"""
from tfgan1 import tfimport

tf = tfimport.tensorflow()


class GeneratorEMA:
  """Holds `model`, a clone of the generator whose weights are the EMA."""

  def __init__(self, generator, keras_module, decay, start):
    self.source = generator
    self.model = keras_module.models.clone_model(generator)
    self.model.set_weights(generator.get_weights())
    self.decay = decay
    self.start = start

  def update(self, step):
    """Averages after optimizer step `step` (a scalar int64 tensor)."""
    decay = tf.where(step <= self.start, 0.0, self.decay)
    for avg, value in zip(self.model.trainable_variables, self.source.trainable_variables):
      avg.assign(decay * avg + (1.0 - decay) * value)
    for avg, value in zip(self.model.non_trainable_variables,
                          self.source.non_trainable_variables):
      avg.assign(value)
