"""Fork safety: a child process forked after fastconv ran computes, and does not hang.

libgomp keeps a pool of threads per thread that started a parallel region;
a forked child inherits the pool's bookkeeping but not its threads, and its
first parallel region waits for them forever. fastconv's child handler
(``pthread_atfork``) makes every call of a forked child run on one thread.
Each test runs in its own interpreter with a timeout: parent computes on 2
threads, forks (``os.fork``, ``multiprocessing`` with "fork"), the child
runs every kernel and must get the parent's results bitwise (they do not
depend on the thread count), the parent computes again afterwards. The
"spawn" and "forkserver" start methods give fresh processes with the
default thread count.
"""
import pytest
from scripts import run_script

from fastconv._kernels import _openmp

pytestmark = pytest.mark.skipif(not _openmp.OPENMP_ENABLED, reason="serial build")

COMMON = """
import os, sys, threading, time
import multiprocessing as mp
import numpy as np
import fastconv
from fastconv._kernels import _gemm, _openmp

def data():
    rng = np.random.default_rng(0)
    a = lambda *s: rng.standard_normal(s).astype(np.float32)
    return dict(x=a(2, 16, 29, 27), w=a(24, 16, 3, 3), wd=a(32, 1, 3, 3), wt=a(16, 8, 4, 4),
                pw=a(20, 32, 1, 1), gy=a(2, 24, 29, 27), img=a(301, 299), k=a(7, 5),
                A=a(97, 301), B=a(301, 127))

def run_all(d):
    # Every kernel entry point: direct, depthwise, im2col, winograd (and its
    # weight transform), transposed GEMM + col2im, filter, fused separable,
    # weight gradient, matmul, a plan.
    out = {}
    for alg in fastconv.ALGORITHMS:
        out["conv2d-" + alg] = fastconv.conv2d(d["x"], d["w"], padding=1, algorithm=alg)
    out["depthwise"] = fastconv.depthwise_conv2d(d["x"], d["wd"], padding=1)
    out["transposed"] = fastconv.conv_transpose2d(d["x"], d["wt"], stride=2, algorithm="im2col")
    out["correlate"] = fastconv.correlate(d["img"], d["k"], mode="same", algorithm="direct")
    out["separable"] = fastconv.separable_conv2d(d["x"], d["wd"], d["pw"], padding=1)
    out["weight_grad"] = fastconv.grad.conv2d_weight(d["x"], d["w"].shape, d["gy"], padding=1)
    out["matmul"] = _gemm.matmul(d["A"], d["B"])
    out["plan"] = fastconv.plan_conv2d(d["w"], d["x"].shape, padding=1)(d["x"])
    return out

def same(a, b):
    bad = [k for k in a if not np.array_equal(a[k], b[k])]
    return bad

def child_main(expected, threads):
    got = run_all(data())
    bad = same(got, expected)
    if bad or fastconv.get_num_threads() != threads:
        print("child: differs", bad, fastconv.get_num_threads(), threads, flush=True)
        sys.exit(1)
    sys.exit(0)

def pool_threads():
    return len(os.listdir("/proc/self/task"))

def join_all(procs, what):
    for p in procs:
        p.join(90)
        if p.exitcode is None:
            p.kill()
            sys.exit(what + " hangs")
        assert p.exitcode == 0, p.exitcode
"""


def _check(result):
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert "parent OK" in result.stdout, (result.stdout, result.stderr)


def test_os_fork_child_computes_every_kernel(tmp_path):
    code = COMMON + """
if __name__ == "__main__":
    fastconv.set_num_threads(2)
    d = data()
    before = pool_threads()
    expected = run_all(d)
    assert pool_threads() > before, "the parent ran no parallel region"
    pid = os.fork()
    if pid == 0:
        code = 3
        try:
            child_main(expected, 1)
        except SystemExit as exc:
            code = exc.code
        finally:
            os._exit(code)
    deadline = time.monotonic() + 60
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            sys.exit("the forked child hangs")
        time.sleep(0.05)
    assert os.waitstatus_to_exitcode(status) == 0, os.waitstatus_to_exitcode(status)
    assert not same(run_all(d), expected), "the parent's results changed after the fork"
    assert fastconv.get_num_threads() == 2
    print("parent OK")
"""
    _check(run_script(tmp_path, code, timeout=180))


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_multiprocessing_children_compute_every_kernel(method, tmp_path):
    code = COMMON + f"""
if __name__ == "__main__":
    default = fastconv.get_num_threads()
    fastconv.set_num_threads(2)
    d = data()
    expected = run_all(d)
    ctx = mp.get_context({method!r})
    threads = 1 if {method!r} == "fork" else default
    procs = [ctx.Process(target=child_main, args=(expected, threads)) for _ in range(2)]
    for p in procs:
        p.start()
    join_all(procs, "a {method} child")
    assert not same(run_all(d), expected)
    print("parent OK")
"""
    _check(run_script(tmp_path, code, timeout=240))


def test_fork_while_another_thread_computes(tmp_path):
    """Forked while a second thread is inside a parallel region: the child
    inherits neither that call nor its threads, and computes on its own."""
    code = COMMON + """
if __name__ == "__main__":
    fastconv.set_num_threads(2)
    d = data()
    expected = run_all(d)
    stop = threading.Event()
    big = np.ones((4, 64, 64, 64), np.float32), np.ones((64, 64, 3, 3), np.float32)
    def busy():
        while not stop.is_set():
            fastconv.conv2d(*big, padding=1, algorithm="direct")
    t = threading.Thread(target=busy)
    t.start()
    time.sleep(0.2)
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=child_main, args=(expected, 1)) for _ in range(3)]
    for p in procs:
        p.start()
        time.sleep(0.05)
    join_all(procs, "a child forked during a call")
    stop.set()
    t.join()
    assert _openmp.budget() == {"calls": 0, "threads": 0}, _openmp.budget()
    print("parent OK")
"""
    _check(run_script(tmp_path, code, timeout=240))
