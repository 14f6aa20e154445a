"""Reference definitions of the transposed convolution."""

__all__ = []
