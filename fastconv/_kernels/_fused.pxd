# The one place for fastconv's fused floating types: every kernel is written
# once over ``floating`` and compiled for float32 and float64.
from cython cimport floating
