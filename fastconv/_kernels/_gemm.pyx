"""The packed GEMM of fastconv (gemm.c): ISA-level selection and a matmul.

Private module. ``matmul`` is a blocked, multi-threaded matrix product built
on the single-threaded packed kernel, used by the benchmarks as the machine's
GEMM ceiling; ``pack_a``, ``pack_b`` and ``gemm_packed`` expose the kernel's
pieces one call at a time for the tests. The ``isa_*`` functions select which
compiled SIMD level every fastconv kernel built on this GEMM uses.
"""
import numpy as np

from fastconv._threads import get_num_threads

from cython.parallel cimport prange
from libc.stdint cimport int64_t

from fastconv._kernels._fused cimport floating
from fastconv._kernels._openmp cimport omp_get_thread_num

#: Names of the ISA levels, indexed by level number.
ISA_LEVELS = ("generic", "avx2", "avx512")

# Block sizes of ``matmul``. KC (rows of B per packed block) is fixed, so the
# summation of every element, hence the result, does not depend on the number
# of threads; one KC x NR panel of B stays in L1 while it meets every MR panel
# of an A block. An A block (about A_BLOCK_BYTES) and a thread's packed B block
# (at most about B_BLOCK_BYTES) fit in L2 together.
cdef enum:
    KC = 256
    A_BLOCK_BYTES = 128 * 1024
    B_BLOCK_BYTES = 256 * 1024


# --------------------------------------------------------------------------
# ISA levels.
# --------------------------------------------------------------------------
def _supported_names():
    return ISA_LEVELS[: fc_isa_supported() + 1]


def isa_supported():
    """Return the best ISA level this CPU and this build support.

    Returns
    -------
    str
        ``"generic"``, ``"avx2"`` (AVX2 with FMA) or ``"avx512"`` (AVX-512F).

    Examples
    --------
    >>> from fastconv._kernels import _gemm
    >>> _gemm.isa_supported() in _gemm.ISA_LEVELS
    True
    """
    return ISA_LEVELS[fc_isa_supported()]


def isa_levels():
    """Return every ISA level usable here, from ``"generic"`` to `isa_supported`.

    Returns
    -------
    tuple of str
        The usable levels in increasing order.

    Examples
    --------
    >>> from fastconv._kernels import _gemm
    >>> _gemm.isa_levels()[0]
    'generic'
    """
    return _supported_names()


def isa_compiled():
    """Return every ISA level compiled into this build, from ``"generic"`` on.

    A level runs only where the CPU has it too (`isa_levels`).

    Returns
    -------
    tuple of str
        ``("generic", "avx2", "avx512")`` on x86-64, ``("generic",)`` elsewhere.

    Examples
    --------
    >>> from fastconv._kernels import _gemm
    >>> _gemm.isa_compiled()[0]
    'generic'
    """
    return ISA_LEVELS[: fc_isa_compiled() + 1]


def isa_emulated():
    """Return the level this build emulates, or None (every normal build).

    A test build made with ``FASTCONV_EMULATE_AVX512=1`` compiles the AVX-512
    level for AVX2 + FMA, its 64-byte vectors as pairs of 32-byte ones, and
    runs it on any CPU with AVX2 + FMA (``fastconv/_kernels/isa.h``).

    Returns
    -------
    str or None
        ``"avx512"`` in such a build, else None.

    Examples
    --------
    >>> from fastconv._kernels import _gemm
    >>> _gemm.isa_emulated() in (None, "avx512")
    True
    """
    cdef int level = fc_isa_emulated()
    return None if level < 0 else ISA_LEVELS[level]


def isa_get():
    """Return the ISA level the kernels use now.

    Until `isa_set` is called this is `isa_supported`.

    Returns
    -------
    str
        The level in use.

    Examples
    --------
    >>> from fastconv._kernels import _gemm
    >>> _gemm.isa_get() in _gemm.isa_levels()
    True
    """
    return ISA_LEVELS[fc_isa_get()]


def isa_set(name):
    """Select the ISA level of the kernels, for the whole process.

    Do not call it while a kernel is running in another thread.

    Parameters
    ----------
    name : str
        ``"generic"``, ``"avx2"`` or ``"avx512"``; it must be one of
        `isa_levels`.

    Returns
    -------
    str
        The level now in use (``name``).

    Raises
    ------
    ValueError
        If ``name`` is not a known level, or if this CPU or build does not
        support it.

    Examples
    --------
    >>> from fastconv._kernels import _gemm
    >>> previous = _gemm.isa_get()
    >>> _gemm.isa_set("generic")
    'generic'
    >>> _gemm.isa_set(previous) == previous
    True
    """
    supported = _supported_names()
    if not isinstance(name, str) or name not in ISA_LEVELS:
        raise ValueError(
            f"unknown ISA level {name!r}: expected one of {ISA_LEVELS}; "
            f"supported on this machine: {supported}")
    if fc_isa_set(ISA_LEVELS.index(name)) < 0:
        raise ValueError(
            f"ISA level {name!r} is not supported by this CPU or build; "
            f"supported on this machine: {supported}")
    return name


def _dtype_code(dtype):
    dtype = np.dtype(dtype)
    if dtype == np.float32:
        return FC_DTYPE_F32
    if dtype == np.float64:
        return FC_DTYPE_F64
    raise TypeError(f"dtype must be float32 or float64, got {dtype}")


def register_tile(dtype):
    """Return the register tile ``(MR, NR)`` of the current level for ``dtype``.

    Parameters
    ----------
    dtype : dtype-like
        ``float32`` or ``float64``.

    Returns
    -------
    tuple of int
        ``MR`` (rows of A per packed panel) and ``NR`` (columns of B per
        packed panel).

    Raises
    ------
    TypeError
        If ``dtype`` is neither float32 nor float64.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv._kernels import _gemm
    >>> mr, nr = _gemm.register_tile(np.float32)
    >>> mr >= 1 and nr >= 1
    True
    """
    code = _dtype_code(dtype)
    level = fc_isa_get()
    return int(fc_gemm_mr_at(level, code)), int(fc_gemm_nr_at(level, code))


# --------------------------------------------------------------------------
# Packing, exposed for tests of the packed layouts.
# --------------------------------------------------------------------------
def _check_matrix(name, x):
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array, got {x.ndim} dimension(s) "
                         f"(shape {x.shape})")
    if x.dtype != np.float32 and x.dtype != np.float64:
        raise TypeError(f"{name} must be float32 or float64, got dtype {x.dtype}")
    return np.ascontiguousarray(x)


cdef _pack(floating[::1] dst, const floating[:, ::1] src, int level, bint is_a):
    cdef int64_t rows = src.shape[0], cols = src.shape[1]
    if dst.shape[0] == 0:
        return
    with nogil:
        if is_a:
            pack_a_at(level, rows, cols, &src[0, 0], cols, &dst[0])
        else:
            pack_b_at(level, rows, cols, &src[0, 0], cols, &dst[0])


def _pack_matrix(m, name, bint is_a):
    # pack_a (is_a) or pack_b of the matrix m at the current level.
    m = _check_matrix(name, m)
    cdef int level = fc_isa_get()
    code = _dtype_code(m.dtype)
    if is_a:
        size = fc_packed_a_size_at(level, m.shape[0], m.shape[1], code)
    else:
        size = fc_packed_b_size_at(level, m.shape[0], m.shape[1], code)
    out = np.empty(size, m.dtype)
    if m.dtype == np.float32:
        _pack[float](out, m, level, is_a)
    else:
        _pack[double](out, m, level, is_a)
    return out


def pack_a(a):
    """Pack ``a`` (M x K) into the packed-A layout of the current level.

    Panel ``p`` holds rows ``[p*MR, p*MR + MR)`` as K columns of MR
    contiguous values: ``packed[p*K*MR + k*MR + r] == a[p*MR + r, k]``, zero
    for rows past M.

    Parameters
    ----------
    a : array_like
        2-D float32 or float64 matrix.

    Returns
    -------
    numpy.ndarray
        1-D array of ``ceil(M / MR) * MR * K`` elements of ``a``'s dtype.

    Raises
    ------
    ValueError
        If ``a`` is not 2-D.
    TypeError
        If ``a`` is neither float32 nor float64.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv._kernels import _gemm
    >>> _gemm.pack_a(np.ones((2, 3), np.float32)).size % 3
    0
    """
    return _pack_matrix(a, "a", True)


def pack_b(b):
    """Pack ``b`` (K x N) into the packed-B layout of the current level.

    Panel ``p`` holds columns ``[p*NR, p*NR + NR)`` as K rows of NR
    contiguous values: ``packed[p*K*NR + k*NR + j] == b[k, p*NR + j]``, zero
    for columns past N.

    Parameters
    ----------
    b : array_like
        2-D float32 or float64 matrix.

    Returns
    -------
    numpy.ndarray
        1-D array of ``ceil(N / NR) * NR * K`` elements of ``b``'s dtype.

    Raises
    ------
    ValueError
        If ``b`` is not 2-D.
    TypeError
        If ``b`` is neither float32 nor float64.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv._kernels import _gemm
    >>> mr, nr = _gemm.register_tile(np.float64)
    >>> _gemm.pack_b(np.ones((3, 1))).shape == (3 * nr,)
    True
    """
    return _pack_matrix(b, "b", False)


cdef _gemm_packed_run(const floating[::1] ap, const floating[::1] bp, floating[:, :] c,
                      int64_t K, bias, bint accumulate, int level):
    cdef int64_t M = c.shape[0], N = c.shape[1]
    cdef int64_t ldc = c.strides[0] // <int64_t> sizeof(floating)
    cdef const floating[::1] bias_mv
    cdef const floating *bias_ptr = NULL
    cdef const floating *A = &ap[0] if ap.shape[0] > 0 else NULL
    cdef const floating *B = &bp[0] if bp.shape[0] > 0 else NULL
    if bias is not None:
        bias_mv = bias
        bias_ptr = &bias_mv[0]
    with nogil:
        gemm_packed_at(level, M, N, K, A, B, &c[0, 0], ldc, bias_ptr, accumulate)


def gemm_packed(ap, bp, k, out, *, bias=None, accumulate=False):
    """Run the single-threaded packed kernel once, as the convolution does.

    ``out[i, j] = bias[i] + sum_k A[i, k] B[k, j]`` (or ``+=`` the sum with
    ``accumulate=True``) for the ``(M, N) = out.shape`` block, where ``ap``
    and ``bp`` hold A and B packed at the current level (`pack_a`,
    `pack_b`, or slices of them starting at a panel boundary).

    Parameters
    ----------
    ap : numpy.ndarray
        1-D contiguous packed A with at least ``ceil(M / MR) * MR * k``
        elements.
    bp : numpy.ndarray
        1-D contiguous packed B with at least ``ceil(N / NR) * NR * k``
        elements, same dtype.
    k : int
        The inner dimension the panels were packed with.
    out : numpy.ndarray
        Writeable ``(M, N)`` array of that dtype whose rows are contiguous
        (the row stride may exceed N: a column block of a larger matrix).
    bias : numpy.ndarray, optional
        ``(M,)`` array of that dtype; ignored with ``accumulate=True``.
    accumulate : bool, optional
        Add to ``out`` instead of overwriting it: each element's summation
        continues from the value in ``out``.

    Returns
    -------
    numpy.ndarray
        ``out``.

    Raises
    ------
    ValueError
        If a size, shape or stride does not fit.
    TypeError
        If the dtypes are not all float32 or all float64.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv._kernels import _gemm
    >>> a, b = np.eye(2), np.arange(6.0).reshape(2, 3)
    >>> _gemm.gemm_packed(_gemm.pack_a(a), _gemm.pack_b(b), 2, np.empty((2, 3)))
    array([[0., 1., 2.],
           [3., 4., 5.]])
    """
    if not isinstance(out, np.ndarray) or out.ndim != 2:
        raise ValueError("out must be a 2-D numpy.ndarray")
    dtype = out.dtype
    code = _dtype_code(dtype)
    ap = np.asarray(ap)
    bp = np.asarray(bp)
    for name, x in (("ap", ap), ("bp", bp)):
        if x.dtype != dtype:
            raise TypeError(f"{name} must have the dtype of out ({dtype}), got {x.dtype}")
        if x.ndim != 1 or not x.flags.c_contiguous:
            raise ValueError(f"{name} must be a 1-D contiguous array")
    M, N = out.shape
    k = int(k)
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    if M == 0 or N == 0:
        return out
    if not out.flags.writeable or out.strides[1] != dtype.itemsize \
            or out.strides[0] < N * dtype.itemsize:
        raise ValueError("out must be writeable with contiguous, non-overlapping rows")
    level = fc_isa_get()
    need_a = fc_packed_a_size_at(level, M, k, code)
    need_b = fc_packed_b_size_at(level, k, N, code)
    if ap.shape[0] < need_a:
        raise ValueError(f"ap holds {ap.shape[0]} elements, the packed {M} x {k} A needs {need_a}")
    if bp.shape[0] < need_b:
        raise ValueError(f"bp holds {bp.shape[0]} elements, the packed {k} x {N} B needs {need_b}")
    if bias is not None:
        bias = np.ascontiguousarray(bias)
        if bias.dtype != dtype:
            raise TypeError(f"bias must have the dtype of out ({dtype}), got {bias.dtype}")
        if bias.shape != (M,):
            raise ValueError(f"bias must have shape ({M},), got {bias.shape}")
    for name, x in (("ap", ap), ("bp", bp), ("bias", bias)):
        if x is not None and np.may_share_memory(out, x):
            raise ValueError(f"out overlaps {name}")
    if code == FC_DTYPE_F32:
        _gemm_packed_run[float](ap, bp, out, k, bias, accumulate, level)
    else:
        _gemm_packed_run[double](ap, bp, out, k, bias, accumulate, level)
    return out


# --------------------------------------------------------------------------
# matmul.
# --------------------------------------------------------------------------
cdef void _column_block(int level, int64_t j0, int64_t nb, const floating *Ap,
                        int64_t a_block, floating *Bp, const floating *B, floating *C,
                        const floating *bias, int64_t M, int64_t N, int64_t K, int64_t mc,
                        int accumulate) noexcept nogil:
    """C[:, j0:j0+nb] for all of M and K: one thread's share of the product.

    Ap holds A packed per KC block (block kb at Ap + kb * a_block); Bp is this
    thread's buffer for one packed KC x nb block of B.
    """
    cdef int dtype = FC_DTYPE_F32 if floating is float else FC_DTYPE_F64
    cdef int64_t mr = fc_gemm_mr_at(level, dtype)
    cdef int64_t nkb = (K + KC - 1) // KC if K > 0 else 1
    cdef int64_t nib = (M + mc - 1) // mc
    cdef int64_t kb, k0, kcb, ib, i0, mb
    cdef const floating *Bk
    cdef const floating *bias_i
    for kb in range(nkb):
        k0 = kb * KC
        kcb = K - k0 if K - k0 < KC else KC
        Bk = B + k0 * N + j0 if kcb > 0 else B
        pack_b_at(level, kcb, nb, Bk, N, Bp)
        for ib in range(nib):
            i0 = ib * mc
            mb = M - i0 if M - i0 < mc else mc
            bias_i = bias + i0 if bias != NULL else NULL
            gemm_packed_at(level, mb, nb, kcb, Ap + kb * a_block + (i0 // mr) * kcb * mr,
                           Bp, C + i0 * N + j0, N, bias_i, accumulate != 0 or kb > 0)


cdef _matmul_run(const floating[:, ::1] a, const floating[:, ::1] b, floating[:, ::1] c,
                 bias, bint accumulate, int level, int64_t nthreads):
    cdef int dtype = FC_DTYPE_F32 if floating is float else FC_DTYPE_F64
    cdef int64_t M = a.shape[0], K = a.shape[1], N = b.shape[1]
    cdef int64_t mr = fc_gemm_mr_at(level, dtype), nr = fc_gemm_nr_at(level, dtype)
    cdef int64_t itemsize = sizeof(floating)
    cdef int64_t kc_max = min(K, KC)
    # Row block: about A_BLOCK_BYTES of packed A, a multiple of MR.
    cdef int64_t mc = max(mr, (A_BLOCK_BYTES // (KC * itemsize)) // mr * mr)
    # Column block: a multiple of NR, at most about B_BLOCK_BYTES of packed
    # B, small enough to give every thread a block.
    cdef int64_t nc_max = max(nr, (B_BLOCK_BYTES // (KC * itemsize)) // nr * nr)
    cdef int64_t nc = min(nc_max, ((N + nthreads - 1) // nthreads + nr - 1) // nr * nr)
    cdef int64_t nblocks = (N + nc - 1) // nc
    if nblocks < nthreads:
        nthreads = nblocks
    cdef int64_t a_block = fc_packed_a_size_at(level, M, KC, dtype)
    cdef int64_t nkb = (K + KC - 1) // KC
    cdef int64_t b_stride = max(1, fc_packed_b_size_at(level, kc_max, nc, dtype))

    np_dtype = np.float32 if floating is float else np.float64
    cdef floating[::1] ap_buf = np.empty(max(1, nkb * a_block), dtype=np_dtype)
    cdef floating[::1] bp_buf = np.empty(nthreads * b_stride, dtype=np_dtype)
    cdef const floating[::1] bias_mv
    cdef const floating *bias_ptr = NULL
    if bias is not None:
        bias_mv = bias
        bias_ptr = &bias_mv[0]
    cdef const floating *A = &a[0, 0] if K > 0 else NULL
    cdef const floating *B = &b[0, 0] if K > 0 else NULL
    cdef floating *C = &c[0, 0]
    cdef floating *Ap = &ap_buf[0]
    cdef floating *Bp = &bp_buf[0]
    cdef int64_t kb, k0, kcb, jb
    cdef int acc = accumulate

    with nogil:
        for kb in range(nkb):
            k0 = kb * KC
            kcb = K - k0 if K - k0 < KC else KC
            pack_a_at(level, M, kcb, A + k0, K, Ap + kb * a_block)
        for jb in prange(nblocks, schedule="dynamic", num_threads=nthreads):
            _column_block(level, jb * nc, min(nc, N - jb * nc), Ap, a_block,
                          Bp + omp_get_thread_num() * b_stride, B, C, bias_ptr,
                          M, N, K, mc, acc)


def matmul(a, b, out=None, *, bias=None, accumulate=False):
    """Matrix product ``a @ b`` through fastconv's packed GEMM.

    The columns of the result are shared among ``fastconv.get_num_threads()``
    OpenMP threads (the same setting as the convolutions); every element
    is summed in the same order whatever the number of threads, so the result
    is bitwise identical for any thread count (at a given ISA level).

    Parameters
    ----------
    a : array_like
        ``(M, K)`` float32 or float64 matrix (any memory layout).
    b : array_like
        ``(K, N)`` matrix of the same dtype as ``a``.
    out : numpy.ndarray, optional
        C-contiguous, writeable ``(M, N)`` array of that dtype, not
        overlapping ``a``, ``b`` or ``bias``, that receives the result.
    bias : array_like, optional
        ``(M,)`` vector of the same dtype, added to every column.
    accumulate : bool, optional
        If True, add the product to the values already in ``out`` (which is
        then required) instead of overwriting them. Cannot be combined with
        ``bias``.

    Returns
    -------
    numpy.ndarray
        The ``(M, N)`` result (``out`` if given).

    Raises
    ------
    ValueError
        If a shape does not fit (naming the sizes), if ``out`` is not a
        C-contiguous writeable array, overlaps an input, or is missing with
        ``accumulate=True``, or if ``bias`` is combined with ``accumulate``.
    TypeError
        If the dtypes are not float32 or float64, or differ.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv._kernels import _gemm
    >>> a = np.arange(6.0).reshape(2, 3)
    >>> b = np.ones((3, 2))
    >>> _gemm.matmul(a, b, bias=np.array([0.5, -0.5]))
    array([[ 3.5,  3.5],
           [11.5, 11.5]])
    """
    a = np.asarray(a)
    b = np.asarray(b)
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"a and b must be 2-D, got a.ndim={a.ndim} (shape {a.shape}) "
                         f"and b.ndim={b.ndim} (shape {b.shape})")
    if a.dtype != np.float32 and a.dtype != np.float64:
        raise TypeError(f"a must be float32 or float64, got dtype {a.dtype}")
    if b.dtype != a.dtype:
        raise TypeError(f"a and b must have the same dtype, got {a.dtype} and {b.dtype}")
    dtype = a.dtype
    M, K = a.shape
    if b.shape[0] != K:
        raise ValueError(f"inner dimensions differ: a is {M} x {K} but b is "
                         f"{b.shape[0]} x {b.shape[1]} (b.shape[0] must be {K})")
    N = b.shape[1]
    if bias is not None:
        if accumulate:
            raise ValueError("bias cannot be combined with accumulate=True "
                             "(the bias is added only when out is overwritten)")
        bias = np.asarray(bias)
        if bias.dtype != dtype:
            raise TypeError(f"bias must have the dtype of a and b ({dtype}), got {bias.dtype}")
        if bias.shape != (M,):
            raise ValueError(f"bias must have shape ({M},), got {bias.shape}")
        bias = np.ascontiguousarray(bias)
    if out is None:
        if accumulate:
            raise ValueError("accumulate=True needs out: the array to add the product to")
        out = np.empty((M, N), dtype=dtype)
    else:
        if not isinstance(out, np.ndarray):
            raise ValueError(f"out must be a numpy.ndarray, got {type(out).__name__}")
        if out.shape != (M, N):
            raise ValueError(f"out must have shape {(M, N)}, got {out.shape}")
        if out.dtype != dtype:
            raise ValueError(f"out must have dtype {dtype}, got {out.dtype}")
        if not out.flags.c_contiguous or not out.flags.writeable:
            raise ValueError("out must be a C-contiguous, writeable array")
        for name, x in (("a", a), ("b", b), ("bias", bias)):
            if x is not None and np.may_share_memory(out, x):
                raise ValueError(f"out overlaps {name}: the result must go to separate memory")
    if M == 0 or N == 0:
        return out
    a = np.ascontiguousarray(a)
    b = np.ascontiguousarray(b)
    level = fc_isa_get()
    if dtype == np.float32:
        _matmul_run[float](a, b, out, bias, accumulate, level, get_num_threads())
    else:
        _matmul_run[double](a, b, out, bias, accumulate, level, get_num_threads())
    return out
