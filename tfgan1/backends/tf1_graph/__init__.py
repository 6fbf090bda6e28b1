"""`train.backend: tf1_graph`: the update rules as a `tf.compat.v1` graph and session."""
