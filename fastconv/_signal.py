"""Signal and image filtering with SciPy's semantics: correlate and convolve."""

__all__ = []
