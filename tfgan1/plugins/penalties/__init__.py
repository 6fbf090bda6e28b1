"""Built-in penalties plugins: importing this package registers them.

Keys: gradient_penalty, dragan (gradient_norm.py); r1, r2 (zero_centered.py);
orthogonal (generator.py, a G penalty); lecam (lecam.py); bcr, zcr and
zcr_g, its G penalty (consistency.py); path_length (path_length.py, a G penalty).
"""
from tfgan1.plugins.penalties import consistency
from tfgan1.plugins.penalties import generator
from tfgan1.plugins.penalties import gradient_norm
from tfgan1.plugins.penalties import lecam
from tfgan1.plugins.penalties import path_length
from tfgan1.plugins.penalties import zero_centered
