"""Plans: a convolution prepared once (weights transformed and packed) and run on many inputs."""

__all__ = []
