# The kernels' entry points read their arrays through NumPy's C API: a typed
# memoryview costs about a third of a microsecond per argument to acquire
# (and a fused entry point as much again to dispatch), which is the whole
# arithmetic of a tiny call. ``array_data`` checks what the kernels need of
# an array (its dims, its dtype, C-contiguous, aligned, native byte order,
# writeable for an output) and returns its first element's address. A module
# that cimports it calls ``cnp.import_array()`` at import (NumPy's C API table;
# a .pxd runs no code).
cimport numpy as cnp
from libc.stdint cimport int64_t


cdef inline char *array_data(cnp.ndarray a, int ndim, int typenum, bint writeable,
                             str name) except? NULL:
    """The address of ``a``'s first element; ValueError naming ``name`` when
    ``a`` is not a C-contiguous, aligned, native ``ndim``-D array of
    ``typenum`` (and writeable, if asked)."""
    if cnp.PyArray_NDIM(a) != ndim:
        raise ValueError(f"{name} must have {ndim} dims, got shape {(<object>a).shape}")
    if cnp.PyArray_TYPE(a) != typenum or not cnp.PyArray_ISNOTSWAPPED(a):
        raise ValueError(f"{name} has dtype {(<object>a).dtype}, expected "
                         f"{cnp.PyArray_DescrFromType(typenum)} in native byte order")
    if not cnp.PyArray_IS_C_CONTIGUOUS(a):
        raise ValueError(f"{name} must be a C-contiguous array")
    if not cnp.PyArray_ISALIGNED(a):
        raise ValueError(f"{name} must be an aligned array (its data at a multiple of "
                         f"{cnp.PyArray_ITEMSIZE(a)} bytes)")
    if writeable and not cnp.PyArray_ISWRITEABLE(a):
        raise ValueError(f"{name} is read-only")
    return <char *>cnp.PyArray_DATA(a)


cdef inline int64_t dim(cnp.ndarray a, int i) noexcept:
    """The size of dim ``i`` of ``a`` (``i`` below its ndim, checked by array_data)."""
    return cnp.PyArray_DIMS(a)[i]
