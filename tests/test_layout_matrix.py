"""Layouts and dtypes as a matrix over every public function.

Every array argument of every public function (``tests/public_api.py``),
one at a time and all at once, in every layout of :data:`LAYOUTS`: the
result must equal (bitwise) the result of the same call with contiguous,
native-byte-order arrays, and no input may be modified. ``out=`` is tried
in every layout too: a writeable one receives the same result; a read-only
one (read-only flag, zero strides) is refused with a ValueError. The batch
(or leading) size runs over 2, 1 and 0.
"""
import zlib

import numpy as np
import pytest
from public_api import cases, results

NATIVE = "<" if np.little_endian else ">"
SWAPPED = ">" if np.little_endian else "<"


def _zero_strided(a):
    """(native, variant): ``a`` made constant along its first non-empty axis
    of length > 1, as a contiguous array and as a zero-strided view."""
    axis = next((i for i, s in enumerate(a.shape) if s > 1), None)
    if axis is None:
        return a, np.broadcast_to(a, a.shape)
    first = np.take(a, [0], axis=axis)
    return np.repeat(first, a.shape[axis], axis=axis), np.broadcast_to(first, a.shape)


def _misaligned(a):
    buf = np.zeros(a.nbytes + 1, dtype=np.uint8)
    view = buf[1:].view(a.dtype).reshape(a.shape)
    view[...] = a
    assert a.dtype.itemsize == 1 or not view.flags.aligned or a.size == 0
    return a, view


def _read_only(a):
    ro = a.copy()
    ro.flags.writeable = False
    return a, ro


def _memmap(tmp_path):
    def make(a):
        path = tmp_path / f"mm{zlib.crc32(a.tobytes())}-{a.size}.bin"
        if a.size == 0:          # an empty file cannot be mapped
            return a, a.copy()
        mm = np.memmap(path, dtype=a.dtype, mode="w+", shape=a.shape)
        mm[...] = a
        return a, mm
    return make


LAYOUTS = {
    "big_endian" if np.little_endian else "little_endian":
        lambda a: (a, a.astype(a.dtype.newbyteorder(SWAPPED))),
    "misaligned": _misaligned,
    "negative_strides": lambda a: (a, np.flip(np.ascontiguousarray(np.flip(a)))),
    "zero_strides": _zero_strided,
    "fortran": lambda a: (a, np.asfortranarray(a)),
    "read_only": _read_only,
    "memmap": None,      # needs tmp_path
    "strided": lambda a: (a, np.repeat(a, 2, axis=-1)[..., ::2] if a.ndim else a),
}

CASES = [c.name for c in cases(np.random.default_rng(0))]


def _case(name, batch, dtype):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    return next(c for c in cases(rng, dtype, batch=batch) if c.name == name)


def _call(case, args, kwargs):
    try:
        return results(case(args, kwargs)), None
    except (ValueError, TypeError) as exc:
        return None, exc


def _assert_same(got, expected, what):
    got_r, got_e = got
    exp_r, exp_e = expected
    if exp_e is not None:
        assert got_e is not None and type(got_e) is type(exp_e), (
            f"{what}: the contiguous call raised {exp_e!r}, this one gave {got_r or got_e!r}")
        return
    assert got_e is None, f"{what}: raised {got_e!r}"
    assert len(got_r) == len(exp_r)
    for g, e in zip(got_r, exp_r):
        assert g.shape == e.shape and g.dtype == e.dtype, (what, g.shape, e.shape, g.dtype)
        np.testing.assert_array_equal(g, e, err_msg=what)


def _snapshot(arrays):
    return [(a.dtype, a.copy()) for a in arrays]


def _assert_unmodified(arrays, snapshot, what):
    for a, (dtype, copy) in zip(arrays, snapshot):
        assert a.dtype == dtype
        np.testing.assert_array_equal(a, copy, err_msg=f"{what}: an input was modified")


@pytest.mark.parametrize("batch", [2, 1, 0])
@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("name", CASES)
def test_every_array_in_every_layout(name, layout, batch, tmp_path):
    dtype = np.float32 if batch != 1 else np.float64
    case = _case(name, batch, dtype)
    make = LAYOUTS[layout] or _memmap(tmp_path)
    slots = case.array_slots
    for slot in slots + [None]:          # each array alone, then all of them
        chosen = slots if slot is None else [slot]
        args, kwargs = list(case.args), dict(case.kwargs)
        pairs = [(s,) + make(case.get(s)) for s in chosen]
        for s, native, _ in pairs:
            _put(args, kwargs, s, native)
        expected = _call(case, args, kwargs)
        for s, _, variant in pairs:
            _put(args, kwargs, s, variant)
        inputs = [v for _, _, v in pairs]
        before = _snapshot(inputs)
        got = _call(case, args, kwargs)
        what = f"{name}, {layout} {'all arrays' if slot is None else slot}, batch {batch}"
        _assert_same(got, expected, what)
        _assert_unmodified(inputs, before, what)


def _put(args, kwargs, slot, value):
    if slot[0] == "arg":
        args[slot[1]] = value
    else:
        kwargs[slot[1]] = value


def _out_layouts(shape, dtype, tmp_path):
    """Empty arrays of ``shape`` in every layout, and whether each must be accepted."""
    base = np.zeros(shape, dtype)
    outs = {
        "contiguous": (base.copy(), True),
        "swapped_byte_order": (base.astype(base.dtype.newbyteorder(SWAPPED)), True),
        "misaligned": (_misaligned(base)[1], True),
        "negative_strides": (np.flip(np.zeros(shape, dtype)), True),
        "fortran": (np.asfortranarray(base), True),
        "strided": (np.zeros(shape[:-1] + (2 * shape[-1],), dtype)[..., ::2]
                    if len(shape) else base.copy(), True),
        "read_only": (_read_only(base)[1], False),
        "zero_strides": (np.broadcast_to(np.zeros((), dtype), shape), False),
    }
    if base.size:
        mm = np.memmap(tmp_path / "out.bin", dtype=dtype, mode="w+", shape=shape)
        outs["memmap"] = (mm, True)
    return outs


@pytest.mark.parametrize("batch", [2, 0])
@pytest.mark.parametrize("name", [c.name for c in cases(np.random.default_rng(0)) if c.out])
def test_out_in_every_layout(name, batch, tmp_path):
    case = _case(name, batch, np.float32)
    expected, error = _call(case, case.args, case.kwargs)
    if error is not None:       # (empty signals) every out gets the same error
        with pytest.raises(type(error)):
            case(None, dict(case.kwargs, out=np.zeros(0, np.float32)))
        return
    (exp,) = expected
    arrays = [case.get(s) for s in case.array_slots]
    for layout, (out, accepted) in _out_layouts(exp.shape, exp.dtype, tmp_path).items():
        before = _snapshot(arrays)
        kwargs = dict(case.kwargs, out=out)
        if not accepted:
            with pytest.raises(ValueError, match="out"):
                case(None, kwargs)
            continue
        got = case(None, kwargs)
        assert got is out, f"{name}, out {layout}: the result is not out"
        np.testing.assert_array_equal(out, exp, err_msg=f"{name}, out {layout}")
        _assert_unmodified(arrays, before, f"{name}, out {layout}")
