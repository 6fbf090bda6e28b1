"""Built-in datasets plugins: importing this package registers them."""
from tfgan1.plugins.datasets import toy  # noqa: F401
