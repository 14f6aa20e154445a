"""Tests of the benchmark suite (``python -m fastconv bench``): it runs, checks, reports.

Only the machinery is tested here (rows, statuses, exit status, JSON, the
command line); no timing is asserted. Every run uses ``--quick --repeat 1``
with the shortest timing so the whole file stays fast.
"""
import json

import numpy as np
import pytest

import fastconv
from fastconv import _bench
from fastconv.__main__ import main as cli_main


@pytest.fixture(autouse=True)
def _short_timings(monkeypatch):
    # One call per timing: these tests check the results, never the speed.
    monkeypatch.setattr(_bench, "QUICK_MIN_TIMING", 0.0)
    monkeypatch.setattr(_bench, "PLAN_TUNE_BUDGET", 0.01)


def run_json(tmp_path, *args):
    """Run the suite with ``args``; return (exit status, records by (layer, impl), JSON)."""
    path = tmp_path / "bench.json"
    status = _bench.main(["--quick", "--repeat", "1", "--json", str(path), *args])
    data = json.loads(path.read_text())
    records = {(r["layer"], r["impl"]): r for r in data["records"]}
    return status, records, data


def layer(name):
    return next(lay for lay in _bench.LAYERS if lay.name == name)


def test_conv_layer_without_peers(tmp_path):
    status, records, data = run_json(tmp_path, "--layers", "resnet3x3_256_14", "--no-peers")
    assert status == 0
    assert data["metadata"]["failures"] == 0
    impls = {impl for (name, impl) in records if name == "resnet3x3_256_14"}
    assert {f"fastconv/{a}" for a in fastconv.ALGORITHMS} <= impls
    assert "fastconv/plan" in impls                   # every 3x3 layer has a plan row
    assert not any(r["library"] != "fastconv" for r in records.values())
    for r in records.values():
        assert r["status"] == "ok", r
        assert r["passed"] is True and r["time_min_s"] > 0
        assert r["rel_error"] <= r["tolerance"]
    plan = records["resnet3x3_256_14", "fastconv/plan"]
    assert plan["baseline"] == "fastconv/auto" and plan["ratio_to_baseline"] > 0


def test_inapplicable_algorithms_are_na_not_failures(tmp_path):
    status, records, _ = run_json(tmp_path, "--layers", "pw1x1_256_64_56", "s2_3x3",
                                  "train_pw1x1", "--no-peers")
    assert status == 0
    for name in ("pw1x1_256_64_56", "s2_3x3_128_56", "train_pw1x1_256_64_56"):
        r = records[name, "fastconv/winograd"]
        assert r["status"] == "n/a" and r["passed"] is None and not r["applicable"]
        assert "winograd" in r["error"]
    assert "stride" in records["s2_3x3_128_56", "fastconv/winograd"]["error"]
    for name in ("pw1x1_256_64_56", "train_pw1x1_256_64_56"):
        assert records[name, "fastconv/im2col"]["status"] == "ok"
    # 1x1 layers have no plan row; the training step checks four arrays.
    assert ("pw1x1_256_64_56", "fastconv/plan") not in records
    assert records["train_pw1x1_256_64_56", "fastconv/auto"]["status"] == "ok"


def test_algorithm_reason():
    assert _bench.algorithm_reason(layer("resnet3x3_64_56"), "winograd") is None
    assert _bench.algorithm_reason(layer("pw1x1_256_64_56"), "winograd") is not None
    assert _bench.algorithm_reason(layer("convT4x4s2_64_32_28"), "winograd") is not None
    assert _bench.algorithm_reason(layer("resnet3x3_64_56"), "fft") is not None
    assert _bench.algorithm_reason(layer("img5x5_1024"), "direct") is None
    assert _bench.algorithm_reason(layer("img5x5_1024"), "fft") is None
    assert "im2col" in _bench.algorithm_reason(layer("img5x5_1024"), "im2col")
    assert _bench.algorithm_reason(layer("img5x5_1024"), "winograd") is not None
    assert _bench.algorithm_reason(layer("signal1e6_k501"), "winograd") is not None


def test_variants_with_peers(tmp_path):
    pytest.importorskip("torch")
    status, records, _ = run_json(tmp_path, "--layers", "convT4x4s2", "sep3x3_144_56",
                                  "--algorithms", "auto", "winograd")
    assert status == 0
    assert records["convT4x4s2_64_32_28", "fastconv/winograd"]["status"] == "n/a"
    for key in (("convT4x4s2_64_32_28", "torch"), ("sep3x3_144_56", "torch"),
                ("sep3x3_144_56", "fastconv/2calls")):
        assert records[key]["status"] == "ok", records[key]
    fused = records["sep3x3_144_56", "fastconv/auto"]
    assert fused["status"] == "ok"
    assert fused["best_peer"] == "torch" and fused["ratio_to_best_peer"] > 0
    assert fused["baseline"] == "fastconv/2calls" and fused["ratio_to_baseline"] > 0
    # Only the algorithms asked for are timed.
    assert ("sep3x3_144_56", "fastconv/direct") not in records


def test_octave_layer(tmp_path):
    status, records, _ = run_json(tmp_path, "--layers", "octave", "--no-peers",
                                  "--algorithms", "auto")
    assert status == 0
    ordinary = records["octave_a05_128_56", "fastconv/conv2d-128"]
    assert ordinary["status"] == "ok"
    lay = layer("octave_a05_128_56")
    assert ordinary["flops"] == 2 * 128 * 128 * 9 * 56 * 56 > lay.flops
    octave = records["octave_a05_128_56", "fastconv/auto"]
    assert octave["status"] == "ok" and octave["ratio_to_baseline"] > 0


def test_wrong_result_is_fail_and_exit_status_1(tmp_path, monkeypatch, capsys):
    conv2d = fastconv.conv2d

    def wrong(*args, **kwargs):
        y = conv2d(*args, **kwargs)
        y[..., 0, 0] += 1.0
        return y

    monkeypatch.setattr(fastconv, "conv2d", wrong)
    status, records, data = run_json(tmp_path, "--layers", "pw1x1_256_64_56", "--no-peers",
                                     "--algorithms", "auto", "winograd")
    assert status == 1
    r = records["pw1x1_256_64_56", "fastconv/auto"]
    assert r["status"] == "FAIL" and r["passed"] is False and r["rel_error"] > r["tolerance"]
    assert records["pw1x1_256_64_56", "fastconv/winograd"]["status"] == "n/a"
    assert data["metadata"]["failures"] == 1
    assert "FAILED" in capsys.readouterr().out


def test_raising_call_is_error_and_exit_status_1(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("broken kernel")

    monkeypatch.setattr(fastconv, "conv2d", broken)
    status, records, _ = run_json(tmp_path, "--layers", "pw1x1_256_64_56", "--no-peers",
                                  "--algorithms", "im2col")
    assert status == 1
    r = records["pw1x1_256_64_56", "fastconv/im2col"]
    assert r["status"] == "ERROR" and "broken kernel" in r["error"]


def test_relative_error_of_several_outputs():
    a, b = np.ones(3), np.full(2, 100.0)
    assert _bench.relative_error([a, b], [a, b]) == 0.0
    # Each array is compared with its own scale.
    assert _bench.relative_error([a + 0.5, b], [a, b]) == pytest.approx(0.5)
    assert _bench.relative_error([a], [a, b]) == float("inf")
    assert _bench.relative_error(np.ones(4), np.ones(3)) == float("inf")


def test_flops():
    sep = layer("sep3x3_144_56")
    assert sep.flops == 2 * 56 * 56 * (144 * 9 + 144 * 144)
    train = layer("train_resnet3x3_64_56")
    assert train.flops == 3 * layer("resnet3x3_64_56").flops
    assert layer("signal1e6_k501").output_shape == (1, 1, 1_000_000 + 500)
    assert layer("img7x7_1024").output_shape == (1, 1, 1024, 1024)
    assert layer("octave_a05_128_56").flops == 2 * 9 * (56 * 56 * 64 * 64
                                                        + 28 * 28 * 3 * 64 * 64)


def test_list_and_selection(capsys):
    assert _bench.main(["--list"]) == 0
    out = capsys.readouterr().out
    for lay in _bench.LAYERS:
        assert lay.name in out
    for name in ("sep3x3_144_56", "octave_a05_128_56", "img3x3_1024", "img7x7_1024",
                 "img11x11_1024", "signal1e6_k501", "train_resnet3x3_64_56",
                 "train_pw1x1_256_64_56", "convT4x4s2_64_32_28"):
        assert name in out
    with pytest.raises(SystemExit) as exc:
        _bench.main(["--layers", "no_such_layer"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        _bench.main(["--algorithms", "nonsense"])
    assert exc.value.code == 2


def test_command_line_list(capsys):
    assert cli_main(["bench", "--list"]) == 0
    assert "resnet3x3_64_56" in capsys.readouterr().out




def test_suite_option(tmp_path, capsys):
    status, records, data = run_json(tmp_path, "--suite", "layers", "--layers",
                                     "resnet3x3_256_14", "--no-peers", "--algorithms", "auto")
    assert status == 0 and data["metadata"]["suites"] == ["layers"]
    assert all(r["suite"] == "layers" for r in records.values())
    with pytest.raises(SystemExit) as exc:
        _bench.main(["--suite", "no_such_suite"])
    assert exc.value.code == 2
    assert "no_such_suite" in capsys.readouterr().err


def test_auto_row_names_its_choice_and_plan_tune_leaves_no_wisdom(tmp_path):
    from fastconv import _tuning
    before = _tuning.count()
    status, records, data = run_json(tmp_path, "--layers", "dw3x3_144_56", "--no-peers")
    assert status == 0
    auto = records["dw3x3_144_56", "fastconv/auto"]
    assert auto["auto_choice"] in ("direct", "im2col", "winograd")
    assert auto["auto_best"].startswith("fastconv/") and auto["auto_best"] != "fastconv/auto"
    assert auto["auto_ratio"] > 0 and isinstance(auto["auto_loses"], bool)
    tuned = records["dw3x3_144_56", "fastconv/plan+tune"]
    assert tuned["status"] == "ok" and tuned["baseline"] == "fastconv/auto"
    assert _tuning.count() == before
    assert data["metadata"]["wisdom_entries"] == before


def test_judge_auto_flags_a_slower_choice():
    lay = layer("resnet3x3_64_56")
    calls = []
    cands = [_bench.Candidate("fastconv/auto", "fastconv", "auto",
                              call=lambda: calls.append(1))]

    def rec(impl, algorithm, t):
        return {"impl": impl, "algorithm": algorithm, "time_min_s": t, "passed": True}
    records = [rec("fastconv/auto", "auto", 1.0), rec("fastconv/direct", "direct", 0.5),
               rec("fastconv/im2col", "im2col", 0.97), rec("fastconv/plan", "auto", 0.1)]
    _bench.judge_auto(lay, records, cands)
    auto = records[0]
    assert calls == [1]
    assert auto["auto_best"] == "fastconv/direct" and auto["auto_ratio"] == 2.0
    assert auto["auto_loses"] is True
    assert "AUTO SLOWER: 2.00x fastconv/direct" in _bench.format_record(dict(
        auto, layer=lay.name, library="fastconv", status="ok", gflops=1.0,
        ratio_to_best_peer=None, checked=False, rel_error=None, error=None))
    records[1]["time_min_s"] = 0.96     # within 5%: not flagged
    _bench.judge_auto(lay, records, cands)
    assert auto["auto_best"] == "fastconv/direct" and auto["auto_loses"] is False


def test_judge_auto_keeps_same_algorithm_rows_apart(monkeypatch):
    # auto ran im2col, and the im2col row was 10% faster: the same
    # computation timed twice, marked as such, not flagged; a faster row of
    # another algorithm is still flagged.
    lay = layer("resnet3x3_64_56")
    cands = [_bench.Candidate("fastconv/auto", "fastconv", "auto", call=lambda: None)]
    monkeypatch.setattr(_bench, "auto_choice", lambda call: "im2col")

    def rec(impl, algorithm, t):
        return {"impl": impl, "algorithm": algorithm, "time_min_s": t, "passed": True}
    records = [rec("fastconv/auto", "auto", 1.1), rec("fastconv/im2col", "im2col", 1.0),
               rec("fastconv/direct", "direct", 2.0)]
    _bench.judge_auto(lay, records, cands)
    auto = records[0]
    assert auto["auto_best"] == "fastconv/im2col" and auto["auto_loses"] is False
    assert auto["auto_same_algorithm"] is True
    line = _bench.format_record(dict(
        auto, layer=lay.name, library="fastconv", status="ok", gflops=1.0,
        ratio_to_best_peer=None, checked=False, rel_error=None, error=None))
    assert "same algorithm as fastconv/im2col: 1.10x" in line and "AUTO SLOWER" not in line
    records = [rec("fastconv/auto", "auto", 1.1), rec("fastconv/im2col", "im2col", 1.2),
               rec("fastconv/direct", "direct", 1.0)]
    _bench.judge_auto(lay, records, cands)
    assert records[0]["auto_loses"] is True and "auto_same_algorithm" not in records[0]


def test_judge_auto_times_a_flagged_row_again_interleaved():
    # The rows say auto took twice direct's time; timed again in alternation,
    # auto (a no-op) is far faster than direct (a 2 ms sleep): not flagged,
    # and the first ratio is kept apart.
    import time
    lay = layer("resnet3x3_64_56")
    calls = {"auto": 0, "direct": 0}

    def auto_call():
        calls["auto"] += 1

    def direct_call():
        calls["direct"] += 1
        time.sleep(0.002)
    cands = [_bench.Candidate("fastconv/auto", "fastconv", "auto", call=auto_call),
             _bench.Candidate("fastconv/direct", "fastconv", "direct", call=direct_call)]
    records = [{"impl": "fastconv/auto", "algorithm": "auto", "time_min_s": 1.0, "passed": True},
               {"impl": "fastconv/direct", "algorithm": "direct", "time_min_s": 0.5,
                "passed": True}]
    _bench.judge_auto(lay, records, cands, repeat=3, min_timing=0.0)
    auto = records[0]
    assert auto["auto_ratio_rows"] == 2.0
    assert auto["auto_ratio"] < 0.5 and auto["auto_loses"] is False
    assert calls["direct"] == 2 + 3          # two warm-up calls, one per round


def test_tiny_suite(tmp_path):
    pytest.importorskip("scipy")
    status, records, data = run_json(tmp_path, "--suite", "tiny", "--layers", "tiny_conv2d",
                                     "tiny_signal64", "tiny_img32")
    assert status == 0 and data["metadata"]["suites"] == ["tiny"]
    assert data["metadata"]["tiny_layers"] == ["tiny_conv2d", "tiny_signal64_k5",
                                               "tiny_img32_3x3"]
    for (name, impl), r in records.items():
        assert r["suite"] == "tiny"
        if r["library"] == "fastconv" and r["status"] != "n/a":
            assert r["status"] == "ok", r
            assert r["time_us"] > 0
    for name in ("tiny_conv2d", "tiny_signal64_k5", "tiny_img32_3x3"):
        assert records[name, "fastconv/auto"]["auto_choice"]
    assert records["tiny_signal64_k5", "fastconv/convolve"]["status"] == "ok"
    assert records["tiny_signal64_k5", "np.correlate"]["status"] == "ok"
    assert records["tiny_img32_3x3", "scipy.signal.corr"]["status"] == "ok"
    if _bench.import_optional("cv2") is not None:
        assert records["tiny_img32_3x3", "cv2.filter2D"]["status"] == "ok"
        assert records["tiny_signal64_k5", "cv2.filter2D"]["status"] == "ok"
    if _bench.import_optional("torch") is not None:
        assert records["tiny_conv2d", "torch+numpy"]["status"] == "ok"
    assert records["tiny_conv2d", "fastconv/plan+tune"]["status"] == "ok"
