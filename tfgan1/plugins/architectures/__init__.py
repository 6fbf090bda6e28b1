"""Built-in architectures plugins: importing this package registers them."""
from tfgan1.plugins.architectures import mlp  # noqa: F401
from tfgan1.plugins.architectures import dcgan  # noqa: F401
from tfgan1.plugins.architectures import resnet  # noqa: F401
from tfgan1.plugins.architectures import stylegan2  # noqa: F401
from tfgan1.plugins.architectures import biggan  # noqa: F401
