"""`from tfgan1.spec import DataSpec`: kept for plugins; it lives in `tfgan1.registry.spec`."""
from tfgan1.registry.spec import DataSpec

__all__ = ["DataSpec"]
