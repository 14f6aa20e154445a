"""Run the documentation's examples quickly."""
import importlib.util
import pathlib

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "docs" / "examples"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_train_cnn_quick_loss_falls(capsys):
    train_cnn = _load("train_cnn")
    losses, net = train_cnn.main(["--quick", "--no-torch"])
    assert losses[-1] < 0.8 * losses[0], losses
    out = capsys.readouterr().out
    assert "test accuracy" in out and "s per epoch" in out
