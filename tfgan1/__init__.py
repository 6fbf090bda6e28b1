"""tfgan1: GAN training with custom TensorFlow 2 loops, one-step losses and plugins."""
from tfgan1.errors import UserError
from tfgan1.registry import (ARCHITECTURES, DATASETS, EVALUATORS, LOSSES,
                             PENALTIES, PRECISIONS, Registry)

__version__ = "0.1.0"

__all__ = ["ARCHITECTURES", "DATASETS", "EVALUATORS", "LOSSES", "PENALTIES", "PRECISIONS",
           "Registry", "UserError", "__version__"]
