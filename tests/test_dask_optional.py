"""Dask is optional: fastconv imports and works without it, and
``fastconv.dask`` says how to get it.

Runs in a subprocess in which every ``import dask`` fails, whether dask is
installed here or not.
"""
import os
import subprocess
import sys
import textwrap

import fastconv

CHECK = textwrap.dedent("""
    import sys

    class NoDask:
        def find_spec(self, name, path=None, target=None):
            if name == "dask" or name.startswith(("dask.", "distributed")):
                raise ModuleNotFoundError(f"No module named {name!r}")
            return None

    sys.meta_path.insert(0, NoDask())
    import numpy as np
    import fastconv
    assert not [m for m in sys.modules if m == "dask" or m.startswith("dask.")]
    x = np.ones((1, 1, 5, 5))
    assert fastconv.conv2d(x, np.ones((1, 1, 3, 3))).shape == (1, 1, 3, 3)
    try:
        import fastconv.dask
    except ImportError as exc:
        print("ImportError:", exc)
    else:
        raise AssertionError("fastconv.dask imported without dask")
""")


def test_fastconv_works_without_dask_and_fastconv_dask_says_what_to_install():
    # From the directory of the fastconv under test (see test_threads._run_python).
    root = os.path.dirname(os.path.dirname(os.path.abspath(fastconv.__file__)))
    run = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True,
                         timeout=120, cwd=root)
    assert run.returncode == 0, run.stderr
    assert 'pip install "fastconv[dask]"' in run.stdout
