"""Train a small CNN with NumPy and fastconv only.

The network is conv 3x3 -> ReLU -> 2x2 max-pool -> conv 3x3 -> ReLU -> linear
-> softmax, trained with SGD + momentum on generated images of three shapes
(square outlines, discs and crosses, at random places and sizes, with noise),
so nothing is downloaded. The forward pass uses :func:`fastconv.conv2d`, the
backward pass :mod:`fastconv.grad`; pooling, ReLU, the linear layer and the
loss are a few lines of NumPy.

Run ``python train_cnn.py`` (or ``--quick`` for a few-second run). When
PyTorch is installed the same network is trained with it for comparison of the
time per epoch.
"""
import argparse
import sys
import time

import numpy as np

import fastconv
from fastconv import grad

CLASSES = ("square", "disc", "cross")


def make_shapes(n, size=16, seed=0):
    """``n`` noisy ``size x size`` images of the three shapes and their labels."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, 1, size, size), dtype=np.float32)
    labels = rng.integers(0, len(CLASSES), n)
    yy, xx = np.mgrid[:size, :size]
    for i, label in enumerate(labels):
        r = rng.integers(3, size // 3 + 1)
        cy, cx = rng.integers(r, size - r, 2)
        if label == 0:      # square outline
            inside = (abs(yy - cy) <= r) & (abs(xx - cx) <= r)
            img = inside & ~((abs(yy - cy) <= r - 1) & (abs(xx - cx) <= r - 1))
        elif label == 1:    # filled disc
            img = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        else:               # cross
            img = ((abs(yy - cy) <= 0) & (abs(xx - cx) <= r)) | (
                (abs(xx - cx) <= 0) & (abs(yy - cy) <= r))
        images[i, 0] = img + 0.3 * rng.standard_normal((size, size))
    return images, labels


def maxpool2(x):
    """2x2 max-pool and the argmax mask the backward pass needs."""
    n, c, h, w = x.shape
    v = x.reshape(n, c, h // 2, 2, w // 2, 2)
    # Two elementwise maxima (of the window's rows, then of its columns):
    # several times faster than NumPy's reduction over the axes (3, 5).
    rows = np.maximum(v[:, :, :, 0], v[:, :, :, 1])
    y = np.maximum(rows[..., 0], rows[..., 1])
    mask = v == y[:, :, :, None, :, None]
    return y, mask


def maxpool2_backward(gy, mask):
    g = mask * gy[:, :, :, None, :, None]
    n, c, h, _, w, _ = g.shape
    return g.reshape(n, c, h * 2, w * 2)


class Net:
    """conv(1->8) -> ReLU -> pool -> conv(8->16) -> ReLU -> linear(16*8*8 -> 3)."""

    def __init__(self, size=16, seed=0):
        rng = np.random.default_rng(seed)
        f = np.float32
        self.params = {
            "w1": (rng.standard_normal((8, 1, 3, 3)) * np.sqrt(2 / 9)).astype(f),
            "b1": np.zeros(8, f),
            "w2": (rng.standard_normal((16, 8, 3, 3)) * np.sqrt(2 / 72)).astype(f),
            "b2": np.zeros(16, f),
            "w3": (rng.standard_normal((16 * (size // 2) ** 2, 3))
                   * np.sqrt(1 / (16 * (size // 2) ** 2))).astype(f),
            "b3": np.zeros(3, f),
        }

    def forward(self, x):
        p = self.params
        z1 = fastconv.conv2d(x, p["w1"], p["b1"], padding=1)
        a1 = np.maximum(z1, 0)
        h1, mask = maxpool2(a1)
        z2 = fastconv.conv2d(h1, p["w2"], p["b2"], padding=1)
        a2 = np.maximum(z2, 0)
        flat = a2.reshape(len(x), -1)
        logits = flat @ p["w3"] + p["b3"]
        self.cache = (x, z1, mask, h1, z2, flat)
        return logits

    def backward(self, glogits):
        p = self.params
        x, z1, mask, h1, z2, flat = self.cache
        g = {"w3": flat.T @ glogits, "b3": glogits.sum(0)}
        ga2 = (glogits @ p["w3"].T).reshape(z2.shape)
        gz2 = ga2 * (z2 > 0)
        g["w2"] = grad.conv2d_weight(h1, p["w2"].shape, gz2, padding=1)
        g["b2"] = grad.bias(gz2)
        gh1 = grad.conv2d_input(h1.shape, p["w2"], gz2, padding=1)
        gz1 = maxpool2_backward(gh1, mask) * (z1 > 0)
        g["w1"] = grad.conv2d_weight(x, p["w1"].shape, gz1, padding=1)
        g["b1"] = grad.bias(gz1)
        return g


def softmax_cross_entropy(logits, labels):
    z = logits - logits.max(1, keepdims=True)
    prob = np.exp(z)
    prob /= prob.sum(1, keepdims=True)
    loss = -np.log(prob[np.arange(len(labels)), labels] + 1e-12).mean()
    g = prob
    g[np.arange(len(labels)), labels] -= 1
    return float(loss), (g / len(labels)).astype(np.float32)


def progress(epoch, epochs, step, steps, loss, width=24):
    done = int(width * step / steps)
    sys.stdout.write(f"\repoch {epoch + 1}/{epochs} [{'#' * done}{'.' * (width - done)}] "
                     f"loss {loss:.3f}")
    sys.stdout.flush()


def train_fastconv(x, y, epochs, batch, lr=0.05, momentum=0.9, verbose=True):
    """Train the NumPy + fastconv network; return (losses per epoch, seconds per epoch, net)."""
    net = Net(x.shape[-1])
    velocity = {k: np.zeros_like(v) for k, v in net.params.items()}
    rng = np.random.default_rng(1)
    losses, times = [], []
    steps = len(x) // batch
    for epoch in range(epochs):
        order = rng.permutation(len(x))
        start, total = time.perf_counter(), 0.0
        for step in range(steps):
            idx = order[step * batch:(step + 1) * batch]
            loss, glogits = softmax_cross_entropy(net.forward(x[idx]), y[idx])
            for k, gk in net.backward(glogits).items():
                velocity[k] = momentum * velocity[k] - lr * gk
                net.params[k] += velocity[k]
            total += loss
            if verbose:
                progress(epoch, epochs, step + 1, steps, total / (step + 1))
        times.append(time.perf_counter() - start)
        losses.append(total / steps)
        if verbose:
            print(f"  ({times[-1]:.2f} s)")
    return losses, times, net


def accuracy(net, x, y):
    return float((net.forward(x).argmax(1) == y).mean())


def train_torch(x, y, epochs, batch, lr=0.05, momentum=0.9):
    """The same network and training in PyTorch; seconds per epoch (None if not installed)."""
    try:
        import torch
    except ImportError:
        return None
    torch.manual_seed(0)
    size = x.shape[-1]
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(),
        torch.nn.Linear(16 * (size // 2) ** 2, 3))
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    xt, yt = torch.tensor(x), torch.tensor(y)
    steps = len(x) // batch
    times = []
    for _ in range(epochs):
        order = torch.randperm(len(x))
        start = time.perf_counter()
        for step in range(steps):
            idx = order[step * batch:(step + 1) * batch]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - start)
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few-second run")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    args = parser.parse_args(argv)
    n_train, n_test, epochs = (600, 300, 3) if args.quick else (3000, 1000, 8)
    epochs = args.epochs or epochs
    batch = 32
    x, y = make_shapes(n_train + n_test)
    xtr, ytr, xte, yte = x[:n_train], y[:n_train], x[n_train:], y[n_train:]
    print(f"{n_train} training and {n_test} test images of {', '.join(CLASSES)}; "
          f"{fastconv.get_num_threads()} thread(s)")
    losses, times, net = train_fastconv(xtr, ytr, epochs, batch)
    print(f"loss per epoch: {', '.join(f'{v:.3f}' for v in losses)}")
    print(f"test accuracy: {accuracy(net, xte, yte):.1%}")
    print(f"fastconv: {min(times):.3f} s per epoch (best)")
    torch_times = None if args.no_torch else train_torch(xtr, ytr, epochs, batch)
    if torch_times:
        print(f"PyTorch:  {min(torch_times):.3f} s per epoch (best), the same network")
    return losses, net


if __name__ == "__main__":
    main()
