"""The TF2 step: the trainer, the update rules, the step guard and loss scale,
optimizers, distribution, the EMA, and the assembly of a run's live parts."""
