"""Built-in precision plugins: importing this package registers them."""
from tfgan1.plugins.precision import policies  # noqa: F401
