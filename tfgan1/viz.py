"""`from tfgan1 import viz`: kept for plugins; it lives in `tfgan1.output.pictures`."""
from tfgan1.output.pictures import *  # noqa: F401,F403  pylint: disable=wildcard-import
from tfgan1.output.pictures import __all__  # noqa: F401
