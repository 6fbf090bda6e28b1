"""What a run shows: console lines, TensorBoard scalars and dashboard, pictures,
and the filter for TensorFlow's harmless C++ log lines."""
