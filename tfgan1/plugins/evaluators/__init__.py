"""Built-in evaluators plugins: importing this package registers them."""
from tfgan1.plugins.evaluators import inception  # noqa: F401
from tfgan1.plugins.evaluators import mnist  # noqa: F401
from tfgan1.plugins.evaluators import modes  # noqa: F401
