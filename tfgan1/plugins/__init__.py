"""Built-in tfgan1 plugins, installed as `tfgan1.plugins`.

Each subpackage is one entry point of the `tfgan1.plugins` group (see setup.py)
and registers through the same public API a user's plugin uses.
"""
