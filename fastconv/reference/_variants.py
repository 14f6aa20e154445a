"""Reference definitions of the depthwise, separable, spatially separable and octave convolutions."""

__all__ = []
