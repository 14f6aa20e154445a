"""The measuring planner and wisdom (``plan_conv*(tune=True)``, ``export_wisdom``,
``import_wisdom``, ``forget_wisdom``, ``FASTCONV_WISDOM``, ``python -m fastconv tune``).

* Round trip: tune, export, forget, import, and the same choice without measuring.
* Keys: another thread count, SIMD level, CPU model or fastconv version does
  not match; another problem (shape, padding, dtype, layout, plan/call) does not.
* Corrupt and foreign files: a warning, nothing imported, never an exception
  (also through the environment variable at import).
* Two threads tuning at the same time.
* ``algorithm="auto"`` follows a matching entry (algorithm and block sizes),
  ignores an entry it cannot run.
* Every candidate computes the same bits (block sizes never change the
  summation order), at 1 and 2 threads; tuned plans agree with the reference.
"""
import json
import os
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest
from conftest import assert_conv_close, n_terms_of

import fastconv
from fastconv import _dispatch, _tuning, reference
from fastconv._args import prepare_conv

BUDGET = 0.05


@pytest.fixture(autouse=True)
def clean_wisdom():
    """Every test starts and ends without wisdom (and at the default thread count)."""
    with _tuning.scoped():
        fastconv.forget_wisdom()
        yield
    fastconv.set_num_threads(None)


def _data(rng, c_in=16, c_out=16, size=(13, 11), k=3, dtype=np.float32, groups=1):
    x = rng.standard_normal((1, c_in) + size).astype(dtype)
    w = rng.standard_normal((c_out, c_in // groups) + (k,) * len(size)).astype(dtype)
    b = rng.standard_normal(c_out).astype(dtype)
    return x, w, b


def _problem(x, w, b, **kw):
    nd = w.ndim - 2
    args = dict(stride=1, padding=1, dilation=1, groups=1)
    args.update(kw)
    return prepare_conv(nd, x, w, b, args["stride"], args["padding"], args["dilation"],
                        args["groups"], "zeros", "auto", None)[0]


def _chosen(fn):
    with _dispatch.recording() as log:
        fn()
    return list(log)


def _write(path, data):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f)


# --------------------------------------------------------------------------
# Round trip and plans
# --------------------------------------------------------------------------

def test_tuned_plan_is_correct_and_recorded(rng):
    x, w, b = _data(rng)
    plan = fastconv.plan_conv2d(w, x.shape, b, padding=1, tune=True, tune_budget=BUDGET)
    assert plan.algorithm in _dispatch.CONV_ALGORITHMS
    assert set(plan.variant) <= set(_dispatch.VARIANT_PARAMS[plan.algorithm])
    y = plan(x)
    assert_conv_close(y, reference.conv2d(x, w, b, padding=1), np.float32,
                      n_terms_of(w, b) * (16 if plan.algorithm == "winograd" else 1))
    # One plan entry and one plain-call entry.
    assert _tuning.count() == 2
    problem = _problem(x, w, b)
    assert _dispatch.has_wisdom(problem, True) and _dispatch.has_wisdom(problem, False)


def test_round_trip(rng, tmp_path, monkeypatch):
    x, w, b = _data(rng)
    plan = fastconv.plan_conv2d(w, x.shape, b, padding=1, tune=True, tune_budget=BUDGET)
    path = tmp_path / "wisdom.json"
    assert fastconv.export_wisdom(path) == 2
    before = json.loads(path.read_text())
    assert before["format"] == "fastconv-wisdom"
    fastconv.forget_wisdom()
    assert _tuning.count() == 0
    assert fastconv.import_wisdom(str(path)) == 2
    fastconv.export_wisdom(path)
    assert json.loads(path.read_text()) == before

    def no_measuring(*args, **kwargs):
        raise AssertionError("a problem with wisdom was measured again")
    monkeypatch.setattr(_tuning, "measure", no_measuring)
    again = fastconv.plan_conv2d(w, x.shape, b, padding=1, tune=True, tune_budget=BUDGET)
    assert (again.algorithm, again.variant) == (plan.algorithm, plan.variant)
    np.testing.assert_array_equal(again(x), plan(x))


def test_entry_fields(rng, tmp_path):
    x, w, b = _data(rng)
    fastconv.set_num_threads(1)
    fastconv.plan_conv2d(w, x.shape, b, padding=((1, 2), (0, 1)), stride=(1, 1),
                         tune=True, tune_budget=BUDGET, layout="channels_first")
    path = tmp_path / "w.json"
    fastconv.export_wisdom(path)
    entries = json.loads(path.read_text())["entries"]
    keys = {e["key"]["use"]: e["key"] for e in entries}
    assert set(keys) == {"plan", "call"}
    key = keys["plan"]
    assert key["op"] == "conv2d"
    assert key["input_shape"] == list(x.shape) and key["weight_shape"] == list(w.shape)
    assert key["pad_before"] == [1, 0] and key["pad_after"] == [2, 1]
    assert key["stride"] == [1, 1] and key["dilation"] == [1, 1] and key["groups"] == 1
    assert key["dtype"] == "float32" and key["layout"] == "channels_first"
    assert key["threads"] == 1 and key["isa"] == fastconv.get_config()["isa"]
    assert key["cpu"] == fastconv.get_config()["cpu"]
    assert key["fastconv_version"] == fastconv.__version__
    for e in entries:
        assert e["algorithm"] in _dispatch.CONV_ALGORITHMS
        assert e["seconds"] > 0 and e["measured"]


def test_tune_arguments_are_validated(rng):
    x, w, b = _data(rng)
    for budget in (0, -1.0, float("nan"), float("inf"), "1", True):
        with pytest.raises(ValueError, match="tune_budget"):
            fastconv.plan_conv2d(w, x.shape, tune=True, tune_budget=budget)
    with pytest.raises(TypeError, match="tune must be True or False"):
        fastconv.plan_conv2d(w, x.shape, tune="yes")
    with pytest.raises(ValueError, match="algorithm='auto'"):
        fastconv.plan_conv2d(w, x.shape, tune=True, algorithm="im2col")


def test_tuning_does_not_modify_inputs(rng):
    x, w, b = _data(rng)
    w0, b0 = w.copy(), b.copy()
    fastconv.plan_conv2d(w, x.shape, b, padding=1, tune=True, tune_budget=BUDGET)
    np.testing.assert_array_equal(w, w0)
    np.testing.assert_array_equal(b, b0)


# --------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------

def test_other_thread_count_does_not_match(rng):
    x, w, b = _data(rng)
    problem = _problem(x, w, b)
    fastconv.set_num_threads(1)
    fastconv.plan_conv2d(w, x.shape, b, padding=1, tune=True, tune_budget=BUDGET)
    assert _dispatch.has_wisdom(problem, True)
    fastconv.set_num_threads(2)
    assert not _dispatch.has_wisdom(problem, True)
    assert not _dispatch.has_wisdom(problem, False)
    fastconv.set_num_threads(1)
    assert _dispatch.has_wisdom(problem, True)


@pytest.mark.parametrize("change", [
    dict(padding=2), dict(padding=1, stride=2), dict(padding=1, dilation=2),
    dict(padding=1, shape=(1, 16, 13, 12)), dict(padding=1, dtype=np.float64),
])
def test_other_problem_does_not_match(rng, change):
    x, w, b = _data(rng)
    fastconv.plan_conv2d(w, x.shape, b, padding=1, tune=True, tune_budget=BUDGET)
    change = dict(change)
    dtype = change.pop("dtype", np.float32)
    shape = change.pop("shape", x.shape)
    other = _problem(np.zeros(shape, dtype), w.astype(dtype), b.astype(dtype), **change)
    assert not _dispatch.has_wisdom(other, True)
    assert not _dispatch.has_wisdom(other, False)


def test_layout_and_use_are_part_of_the_key(rng):
    x, w, b = _data(rng)
    problem = _problem(x, w, b)
    fastconv.plan_conv2d(w, x.shape, b, padding=1, tune=True, tune_budget=BUDGET)
    assert not _dispatch.has_wisdom(problem, True, "channels_last")
    fastconv.forget_wisdom()
    xl = np.moveaxis(x, 1, -1)
    fastconv.plan_conv2d(w, xl.shape, b, padding=1, tune=True, tune_budget=BUDGET,
                         layout="channels_last")
    assert _dispatch.has_wisdom(problem, True, "channels_last")
    assert not _dispatch.has_wisdom(problem, True, "channels_first")


def _exported(tmp_path, rng):
    x, w, b = _data(rng)
    fastconv.plan_conv2d(w, x.shape, b, padding=1, tune=True, tune_budget=BUDGET)
    path = tmp_path / "w.json"
    fastconv.export_wisdom(path)
    fastconv.forget_wisdom()
    return path, json.loads(path.read_text()), _problem(x, w, b)


@pytest.mark.parametrize("field,value", [("fastconv_version", "0.0.0-other"),
                                         ("cpu", "Another CPU")])
def test_foreign_entries_are_ignored_with_a_warning(rng, tmp_path, field, value):
    path, data, problem = _exported(tmp_path, rng)
    for e in data["entries"]:
        e["key"][field] = value
    _write(path, data)
    with pytest.warns(RuntimeWarning, match="another CPU or fastconv version"):
        assert fastconv.import_wisdom(path) == 0
    assert _tuning.count() == 0
    assert not _dispatch.has_wisdom(problem, True)


def test_other_simd_level_is_kept_but_does_not_match(rng, tmp_path):
    path, data, problem = _exported(tmp_path, rng)
    for e in data["entries"]:
        e["key"]["isa"] = "not-this-level"
    _write(path, data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fastconv.import_wisdom(path) == 2
    assert not _dispatch.has_wisdom(problem, True)


# --------------------------------------------------------------------------
# Corrupt files
# --------------------------------------------------------------------------

def _corruptions(data):
    def entry_edit(fn):
        d = json.loads(json.dumps(data))
        fn(d["entries"][0])
        return json.dumps(d)
    return {
        "garbage": b"\x00\xff\xfe not json at all",
        "truncated": json.dumps(data)[:40],
        "empty": "",
        "other json": json.dumps({"hello": "world"}),
        "a list": json.dumps([1, 2, 3]),
        "format version": json.dumps(dict(data, format_version=99)),
        "entries not a list": json.dumps(dict(data, entries={"a": 1})),
        "missing key field": entry_edit(lambda e: e["key"].pop("groups")),
        "bad shape": entry_edit(lambda e: e["key"].__setitem__("input_shape", [1, -2])),
        "bad threads": entry_edit(lambda e: e["key"].__setitem__("threads", 0)),
        "bad use": entry_edit(lambda e: e["key"].__setitem__("use", "sometimes")),
        "bad variant": entry_edit(lambda e: e.__setitem__("variant", {"block_bytes": -1})),
        "bad algorithm": entry_edit(lambda e: e.__setitem__("algorithm", 3)),
        "entry not an object": json.dumps(dict(data, entries=[7])),
    }


def test_corrupt_files_warn_and_change_nothing(rng, tmp_path):
    path, data, problem = _exported(tmp_path, rng)
    fastconv.import_wisdom(path)
    assert _tuning.count() == 2
    for name, content in _corruptions(data).items():
        bad = tmp_path / "bad.json"
        bad.write_bytes(content if isinstance(content, bytes) else content.encode())
        with pytest.warns(RuntimeWarning, match="ignored"):
            assert fastconv.import_wisdom(bad) == 0, name
        assert _tuning.count() == 2, name
    assert _dispatch.has_wisdom(problem, True)


def test_missing_file_raises_oserror(tmp_path):
    with pytest.raises(OSError):
        fastconv.import_wisdom(tmp_path / "does-not-exist.json")


def _import_in_subprocess(env_path):
    env = dict(os.environ, FASTCONV_WISDOM=str(env_path))
    code = ("import warnings; warnings.simplefilter('always'); import fastconv, "
            "fastconv._tuning as t; print('entries', t.count())")
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120, cwd=os.path.dirname(os.path.dirname(
                              os.path.abspath(fastconv.__file__))))


def test_environment_variable_loads_at_import(rng, tmp_path):
    path, _, _ = _exported(tmp_path, rng)
    done = _import_in_subprocess(path)
    assert done.returncode == 0, done.stderr
    assert "entries 2" in done.stdout
    assert "Warning" not in done.stderr


@pytest.mark.parametrize("content", [None, "{oops"])
def test_environment_variable_bad_file_warns(tmp_path, content):
    path = tmp_path / "bad.json"
    if content is not None:
        path.write_text(content)
    done = _import_in_subprocess(path)
    assert done.returncode == 0, done.stderr
    assert "entries 0" in done.stdout
    assert "FASTCONV_WISDOM" in done.stderr or "ignored" in done.stderr


def test_export_is_atomic_and_overwrites(rng, tmp_path):
    path = tmp_path / "w.json"
    path.write_text("old content")
    assert fastconv.export_wisdom(path) == 0
    assert json.loads(path.read_text())["entries"] == []
    assert os.listdir(tmp_path) == ["w.json"]


# --------------------------------------------------------------------------
# Concurrency
# --------------------------------------------------------------------------

def test_concurrent_tuning_from_two_threads(rng):
    cases = [_data(rng), _data(rng, c_in=8, c_out=24, size=(17, 9)), _data(rng)]
    results, errors = {}, []

    def work(i):
        try:
            x, w, b = cases[i % len(cases)]
            plan = fastconv.plan_conv2d(w, x.shape, b, padding=1, tune=True,
                                        tune_budget=0.2)
            results[i] = (plan(x), plan.algorithm)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for i, (y, algorithm) in results.items():
        x, w, b = cases[i % len(cases)]
        assert_conv_close(y, reference.conv2d(x, w, b, padding=1), np.float32,
                          n_terms_of(w, b) * (16 if algorithm == "winograd" else 1))
    # Two distinct problems (cases 0 and 2 are equal in shape): two entries each.
    assert _tuning.count() == 4


# --------------------------------------------------------------------------
# auto follows wisdom
# --------------------------------------------------------------------------

def _entry(problem, planned, algorithm, variant=None):
    full = _dispatch.problem_key(problem, planned, "channels_first")
    return _tuning.record(full, algorithm, variant or {}, 1e-3, {algorithm: 1e-3})


def test_auto_follows_a_wisdom_entry(rng, tmp_path):
    x, w, b = _data(rng, c_in=32, c_out=32, size=(30, 30))
    problem = _problem(x, w, b)
    ref = reference.conv2d(x, w, b, padding=1)
    assert _dispatch.rule(problem) == "winograd"
    assert _chosen(lambda: fastconv.conv2d(x, w, b, padding=1)) == ["winograd"]
    _entry(problem, False, "direct")
    path = tmp_path / "w.json"
    fastconv.export_wisdom(path)
    fastconv.forget_wisdom()
    fastconv.import_wisdom(path)
    assert _chosen(lambda: fastconv.conv2d(x, w, b, padding=1)) == ["direct"]
    y = fastconv.conv2d(x, w, b, padding=1)
    np.testing.assert_array_equal(y, fastconv.conv2d(x, w, b, padding=1, algorithm="direct"))
    assert_conv_close(y, ref, np.float32, n_terms_of(w, b))
    # A named algorithm is not overridden; a plan reads the "plan" entries only.
    assert _chosen(lambda: fastconv.conv2d(x, w, b, padding=1, algorithm="im2col")) == ["im2col"]
    assert fastconv.plan_conv2d(w, x.shape, b, padding=1).algorithm == "winograd"
    _entry(problem, True, "im2col", {"block_bytes": 65536})
    plan = fastconv.plan_conv2d(w, x.shape, b, padding=1)
    assert (plan.algorithm, plan.variant) == ("im2col", {"block_bytes": 65536})
    np.testing.assert_array_equal(plan(x), fastconv.conv2d(x, w, b, padding=1,
                                                             algorithm="im2col"))
    fastconv.forget_wisdom()
    assert _chosen(lambda: fastconv.conv2d(x, w, b, padding=1)) == ["winograd"]


def test_wisdom_reaches_the_operations_built_on_convolutions(rng):
    # conv_transpose2d with stride 1 runs one convolution; an entry for it is followed.
    x = rng.standard_normal((1, 16, 10, 10)).astype(np.float32)
    w = rng.standard_normal((16, 16, 3, 3)).astype(np.float32)
    with _dispatch.tuning(BUDGET):
        y = fastconv.conv_transpose2d(x, w, padding=1)
    assert _tuning.count() >= 1
    with _dispatch.recording() as log:
        again = fastconv.conv_transpose2d(x, w, padding=1)
    assert len(log) >= 1
    assert_conv_close(again, reference.conv_transpose2d(x, w, padding=1), np.float32,
                      16 * 9 * 16)
    assert_conv_close(y, again, np.float32, 16 * 9 * 16)


@pytest.mark.parametrize("algorithm,variant", [
    ("winograd", {}), ("nonsense", {}), ("im2col", {"tile": 4}), ("direct", {"block_bytes": 8}),
])
def test_unusable_entries_are_ignored(rng, algorithm, variant):
    x, w, b = _data(rng, k=5)
    problem = _problem(x, w, b, padding=2)
    _entry(problem, False, algorithm, variant)
    expected = _dispatch.rule(problem)
    assert _chosen(lambda: fastconv.conv2d(x, w, b, padding=2)) == [expected]


# --------------------------------------------------------------------------
# Candidates: all of them, the same bits
# --------------------------------------------------------------------------

@pytest.mark.parametrize("case", [
    dict(c_in=97, c_out=13, size=(11, 9), k=3),          # several K passes possible
    dict(c_in=32, c_out=48, size=(101, 7), k=3),         # many column blocks
    dict(c_in=64, c_out=16, size=(127,), k=1, padding=0),  # pointwise, 1-D
    dict(c_in=8, c_out=8, size=(6, 9, 7), k=3),          # 3-D Winograd
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_candidate_gives_the_same_bits(rng, case, dtype, restore_threads):
    case = dict(case)
    padding = case.pop("padding", 1)
    x, w, b = _data(rng, dtype=dtype, **case)
    nd = w.ndim - 2
    conv = getattr(fastconv, f"conv{nd}d")
    problem = _problem(x, w, b, padding=padding)
    cands = _dispatch.candidates(problem)
    assert cands[0] == (_dispatch.rule(problem), {})
    assert len({_dispatch._label(a, v) for a, v in cands}) == len(cands)
    by_algorithm = {}
    for threads in (1, 2):
        fastconv.set_num_threads(threads)
        for algorithm, variant in _dispatch.candidates(problem):
            _tuning.forget_wisdom()
            _entry(problem, False, algorithm, variant)
            y = conv(x, w, b, padding=padding)
            first = by_algorithm.setdefault(algorithm, y)
            np.testing.assert_array_equal(y, first, err_msg=f"{algorithm} {variant}")
    assert set(by_algorithm) >= {"direct", "im2col"}
    ref = getattr(reference, f"conv{nd}d")(x, w, b, padding=padding)
    for algorithm, y in by_algorithm.items():
        assert_conv_close(y, ref, dtype, n_terms_of(w, b) * (16 if algorithm == "winograd"
                                                              else 1))


def test_candidates_include_block_sizes(rng):
    x, w, b = _data(rng, c_in=128, c_out=64, size=(56, 56))
    labels = [_dispatch._label(a, v) for a, v in _dispatch.candidates(_problem(x, w, b))]
    assert any(label.startswith("im2col(") for label in labels), labels
    assert any(label.startswith("winograd(") for label in labels), labels
    assert "direct" in labels


def test_measure_respects_the_budget():
    calls = {"a": 0, "b": 0}

    def slow(name, seconds):
        def fn():
            calls[name] += 1
            import time
            time.sleep(seconds)
        return fn
    times = _tuning.measure([("a", slow("a", 0.03)), ("b", slow("b", 0.03))], 0.001)
    # The first candidate is always timed, the second did not fit.
    assert calls == {"a": 1, "b": 0}
    assert times["a"] >= 0.03 and times["b"] == float("inf")
    calls.update(a=0, b=0)
    times = _tuning.measure([("a", slow("a", 0.001)), ("b", slow("b", 0.001))], 10, rounds=3)
    assert calls == {"a": 3, "b": 3}


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

def test_command_line_tune_writes_wisdom(tmp_path):
    from fastconv.__main__ import main
    path = tmp_path / "tuned.json"
    status = main(["tune", "tiny_conv2d", "--output", str(path), "--budget", "0.02",
                   "--threads", "1"])
    assert status == 0
    data = json.loads(path.read_text())
    uses = sorted(e["key"]["use"] for e in data["entries"])
    assert uses == ["call", "plan"]
    assert all(e["key"]["threads"] == 1 for e in data["entries"])
    # A second run adds to the file instead of replacing it.
    status = main(["tune", "tiny_conv1d", "--output", str(path), "--budget", "0.02",
                   "--threads", "1"])
    assert status == 0
    assert len(json.loads(path.read_text())["entries"]) == 4


def test_command_line_tune_errors(tmp_path, capsys):
    from fastconv.__main__ import main
    with pytest.raises(SystemExit) as exc:
        main(["tune", "no_such_layer", "--output", str(tmp_path / "x.json")])
    assert exc.value.code == 2
    assert "no_such_layer" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["tune", "tiny_conv2d", "--budget", "0"])
