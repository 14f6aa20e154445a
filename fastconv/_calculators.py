"""Calculators: output shapes, multiply-accumulates, parameters, receptive fields."""

__all__ = []
