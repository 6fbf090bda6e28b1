"""Evaluation: the evaluators over G's samples, the best checkpoint, the sample
statistics (FID, KID, precision/recall, ...) and the sampling of noise."""
