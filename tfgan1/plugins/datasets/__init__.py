"""Built-in datasets plugins: importing this package registers them."""
from tfgan1.plugins.datasets import toy  # noqa: F401
from tfgan1.plugins.datasets import image_folder  # noqa: F401
from tfgan1.plugins.datasets import mnist  # noqa: F401
from tfgan1.plugins.datasets import tfds  # noqa: F401
