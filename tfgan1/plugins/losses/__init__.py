"""Built-in losses plugins: importing this package registers them.

Keys: minimax, non_saturating, least_squares (standard.py); hinge, wasserstein
(critic.py); relativistic, relativistic_average (relativistic.py); acgan
(conditional.py, after the others: it wraps one of them); d2dce (contrastive.py, too).
"""
from tfgan1.plugins.losses import critic
from tfgan1.plugins.losses import relativistic
from tfgan1.plugins.losses import standard
from tfgan1.plugins.losses import conditional  # noqa: E402  wraps the families above
from tfgan1.plugins.losses import contrastive  # noqa: E402  wraps them too
