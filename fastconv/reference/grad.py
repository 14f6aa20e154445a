"""Reference definitions of the backward passes (gradients) of the convolutions."""

__all__ = []
