"""Run a Python script in a fresh process against the fastconv under test.

The hardening tests that fork, send signals, limit memory or count the
process's threads do it in a child process, so that a hang, a crash or a
limit stays there. The script is written to a file (``multiprocessing``'s
"spawn" and "forkserver" children import their target from it).
"""
import os
import subprocess
import sys
import textwrap

import fastconv

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(fastconv.__file__)))


def script_env(**env):
    full = dict(os.environ)
    full.update({k: str(v) for k, v in env.items()})
    full["PYTHONPATH"] = ROOT + os.pathsep + full.get("PYTHONPATH", "")
    return full


def write_script(tmp_path, code, name="script.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(code))
    return path


def run_script(tmp_path, code, timeout=120, **env):
    """Run ``code`` in a new interpreter (working directory: the checkout of the
    fastconv under test); return the CompletedProcess, whatever its exit code."""
    path = write_script(tmp_path, code)
    return subprocess.run([sys.executable, str(path)], env=script_env(**env),
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def start_script(tmp_path, code, **env):
    """Start ``code`` in a new interpreter with pipes; return the Popen."""
    path = write_script(tmp_path, code)
    return subprocess.Popen([sys.executable, "-u", str(path)], env=script_env(**env),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)
