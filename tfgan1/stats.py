"""`from tfgan1 import stats`: kept for plugins; it lives in `tfgan1.evaluation.stats`."""
from tfgan1.evaluation.stats import *  # noqa: F401,F403  pylint: disable=wildcard-import
from tfgan1.evaluation.stats import __all__  # noqa: F401
