"""The algorithm: the networks-and-losses record, the one-step objectives and their
forms, and augmentation. Imports TensorFlow; knows nothing of runs or backends."""
