"""Backward passes of the convolutions (the gradients a training loop needs)."""

__all__ = []
