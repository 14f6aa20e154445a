"""Depthwise, depthwise-separable, spatially separable and octave convolutions."""

__all__ = []
