"""Reference definitions of the signal and image correlate/convolve."""

__all__ = []
