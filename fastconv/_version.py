"""fastconv's version: the one place it is written.

The build reads it (``[tool.setuptools.dynamic]`` in pyproject.toml) for the
wheel and sdist metadata, ``fastconv.__version__`` imports it, the docs take
``fastconv.__version__``, and CHANGELOG.md's newest release heading must match
it (tests/test_packaging.py checks all four).
"""
__version__ = "0.1.0"
