"""Built-in losses plugins: importing this package registers them.

Keys: minimax, non_saturating, least_squares (standard.py); hinge, wasserstein
(critic.py); relativistic, relativistic_average (relativistic.py).
"""
from tfgan1.plugins.losses import critic
from tfgan1.plugins.losses import relativistic
from tfgan1.plugins.losses import standard
