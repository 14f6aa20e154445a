"""Tests of the network suites of the bench (``--suite networks``, ``--suite NAME``).

The layer tables are checked against figures published with the
architectures (convolution counts, multiply-accumulates), and the suite's
machinery on one small layer per run (rows, statuses, totals, JSON); no
timing is asserted.
"""
import json

import pytest

from fastconv import _bench, _bench_networks as nets


@pytest.fixture(autouse=True)
def _short_timings(monkeypatch):
    monkeypatch.setattr(_bench, "QUICK_MIN_TIMING", 0.0)
    monkeypatch.setattr(nets, "LAYER_BUDGET", 0.0)


def network(name):
    return nets.NETWORK_BY_NAME[name]


# (network, convolution layers, multiply-accumulates in GMAC, relative
# tolerance): the counts of the papers' tables; the MACs as usually quoted
# for the architectures (ResNet-50 4.1, MobileNetV2 0.30, VGG-16 15.5 with
# its fully connected layers, of which the convolutions are 15.3).
PUBLISHED = [
    ("resnet50", 53, 4.09, 0.02),
    ("mobilenetv2", 52, 0.30, 0.03),
    ("vgg16", 13, 15.35, 0.01),
    ("efficientnet_b0", 81, 0.39, 0.05),
    ("resnext50_32x4d", 53, 4.23, 0.02),
    ("unet", 23, None, None),
]


@pytest.mark.parametrize("name,convs,gmac,tol", PUBLISHED)
def test_layer_tables_match_the_published_architectures(name, convs, gmac, tol):
    net = network(name)
    pairs = net.layers()
    assert sum(c for _, c in pairs) == convs
    assert len(pairs) == len({lay for lay, _ in pairs})       # each shape once, weighted
    if gmac is not None:
        total = sum(lay.macs(net.n) * c for lay, c in pairs) / 1e9
        assert total == pytest.approx(gmac, rel=tol)


def test_depthwise_layers_of_efficientnet_use_5x5_and_both_strides():
    kinds = {(lay.kernel, lay.stride) for lay, _ in network("efficientnet_b0").layers()
             if lay.groups > 1 and lay.groups == lay.c_in == lay.c_out}
    assert kinds == {(3, 1), (3, 2), (5, 1), (5, 2)}


def test_batch_and_dtype_variants():
    assert network("resnet50_b8").n == 8 and network("mobilenetv2_b8").n == 8
    assert network("resnet50_f64").dtype == "float64"
    assert [lay for lay, _ in network("resnet50_b8").layers()] == \
        [lay for lay, _ in network("resnet50").layers()]


def test_suite_runs_checks_and_totals(tmp_path):
    path = tmp_path / "net.json"
    status = _bench.main(["--quick", "--repeat", "1", "--no-peers", "--json", str(path),
                          "--suite", "mobilenetv2", "--layers", "1x1_16_96_112",
                          "dw3x3s2_96_112"])
    assert status == 0
    data = json.loads(path.read_text())
    recs = {(r["layer"], r["impl"]): r for r in data["records"]}
    assert {name for name, _ in recs} == {"1x1_16_96_112", "dw3x3s2_96_112"}
    for (name, impl), r in recs.items():
        assert r["network"] == "mobilenetv2" and r["time_min_s"] > 0
        if impl == "fastconv/auto":
            # checked against fastconv.reference without PyTorch
            assert r["status"] == "ok" and r["passed"] is True
    total = data["metadata"]["networks"]["mobilenetv2"]
    expected = sum(r["count"] * r["time_min_s"] for (_, impl), r in recs.items()
                   if impl == "fastconv/auto")
    assert total["auto_s"] == pytest.approx(expected)
    assert total["convolutions"] == 2 and total["torch_s"] is None


def test_list_and_unknown_suite(capsys):
    assert _bench.main(["--suite", "tcn", "--list"]) == 0
    out = capsys.readouterr().out
    assert "tcn" in out and "k7" in out
    with pytest.raises(SystemExit):
        _bench.main(["--suite", "no_such_network"])
