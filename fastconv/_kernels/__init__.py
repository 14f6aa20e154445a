"""Compiled kernels of fastconv (Cython + C). Private: use the functions of ``fastconv``."""
