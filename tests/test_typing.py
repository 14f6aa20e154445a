"""The type stubs (``.pyi``) agree with the runtime API, and type-check the docs.

fastconv ships ``py.typed`` and a stub per public module. These tests fail
with a message saying which stub to update when

* a public module (a ``fastconv.X`` without a leading underscore, e.g. a new
  ``fastconv.signal``, ``fastconv.ndimage`` or ``fastconv.dask``) has no stub;
* a name of a module's ``__all__`` is missing from its stub, or the stub names
  something the module does not have;
* a function's parameters (names, order, kinds, defaults) differ between the
  stub and the runtime, or a named tuple's fields do;

and the examples of the documentation (README, the .rst pages' doctests and
code blocks, docs/examples/*.py) pass ``mypy`` against the stubs.
"""
import ast
import importlib
import inspect
import os
import pkgutil
import re
import shutil
import subprocess
import sys
import tempfile

import pytest

import fastconv

PKG_DIR = os.path.dirname(os.path.abspath(fastconv.__file__))
ROOT = os.path.dirname(PKG_DIR)
HOW = ("Every public module of fastconv has a stub beside it (fastconv/NAME.pyi, or "
       "fastconv/NAME/__init__.pyi for a package) declaring each name of its __all__ "
       "with the runtime signature; see fastconv/__init__.pyi for the conventions.")


def public_modules():
    """fastconv and every submodule whose dotted name has no private part."""
    names = ["fastconv"]
    for info in pkgutil.walk_packages([PKG_DIR], prefix="fastconv."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


def stub_path(modname):
    mod = importlib.import_module(modname)
    path = os.path.abspath(mod.__file__)
    base = os.path.splitext(path)[0]
    return base + ".pyi"


def parse_stub(modname):
    with open(stub_path(modname)) as f:
        return ast.parse(f.read(), filename=stub_path(modname))


def stub_names(tree):
    """{public name: ast node or None} defined at the top of a stub."""
    names = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names[node.name] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names[node.target.id] = None
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    names[target.id] = None
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.asname and alias.asname == alias.name:   # explicit re-export
                    names[alias.asname] = None
    return {k: v for k, v in names.items() if not k.startswith("_")}


MODULES = public_modules()


@pytest.mark.parametrize("modname", MODULES)
def test_every_public_module_has_a_stub(modname):
    assert os.path.exists(stub_path(modname)), (
        f"{modname} has no type stub: add {os.path.relpath(stub_path(modname), ROOT)}. {HOW}")


def test_the_package_is_marked_typed():
    assert os.path.exists(os.path.join(PKG_DIR, "py.typed"))


def _stubbed_modules():
    return [m for m in MODULES if os.path.exists(stub_path(m))]


@pytest.mark.parametrize("modname", _stubbed_modules())
def test_stub_names_match_the_runtime(modname):
    mod = importlib.import_module(modname)
    stub = stub_names(parse_stub(modname))
    public = getattr(mod, "__all__", None)
    assert public is not None, f"{modname} has no __all__: list its public names there"
    rel = os.path.relpath(stub_path(modname), ROOT)
    missing = sorted(set(public) - set(stub))
    assert not missing, f"{rel} lacks {missing} (in {modname}.__all__). {HOW}"
    extra = sorted(n for n in stub if not hasattr(mod, n))
    assert not extra, f"{rel} declares {extra}, which {modname} does not have. {HOW}"


def _stub_params(fn):
    """[(name, kind, default or inspect._empty)] of a stub's FunctionDef."""
    a = fn.args
    out = []
    positional = a.posonlyargs + a.args
    defaults = [inspect.Parameter.empty] * (len(positional) - len(a.defaults)) + [
        ast.literal_eval(d) for d in a.defaults]
    for i, arg in enumerate(positional):
        kind = (inspect.Parameter.POSITIONAL_ONLY if i < len(a.posonlyargs)
                else inspect.Parameter.POSITIONAL_OR_KEYWORD)
        out.append((arg.arg, kind, defaults[i]))
    if a.vararg:
        out.append((a.vararg.arg, inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.empty))
    for arg, d in zip(a.kwonlyargs, a.kw_defaults):
        out.append((arg.arg, inspect.Parameter.KEYWORD_ONLY,
                    inspect.Parameter.empty if d is None else ast.literal_eval(d)))
    if a.kwarg:
        out.append((a.kwarg.arg, inspect.Parameter.VAR_KEYWORD, inspect.Parameter.empty))
    return out


def _runtime_params(obj):
    return [(p.name, p.kind, p.default) for p in inspect.signature(obj).parameters.values()]


def _compare(where, stub_fn, runtime_obj, drop_self=False):
    try:
        runtime = _runtime_params(runtime_obj)
    except (TypeError, ValueError):
        pytest.fail(f"{where}: no runtime signature to compare with")
    stub = _stub_params(stub_fn)
    if drop_self:
        stub = stub[1:]
        if runtime and runtime[0][0] == "self":
            runtime = runtime[1:]
    if [p[1] for p in runtime] == [inspect.Parameter.VAR_POSITIONAL,
                                   inspect.Parameter.VAR_KEYWORD]:
        return   # a generated wrapper (*args, **kwargs): the stub spells out its target's
    assert stub == runtime, (
        f"{where}: the stub's parameters differ from the runtime's.\n  stub:    {stub}\n"
        f"  runtime: {runtime}\nUpdate the stub to the function's signature. {HOW}")


@pytest.mark.parametrize("modname", _stubbed_modules())
def test_stub_signatures_match_the_runtime(modname):
    mod = importlib.import_module(modname)
    rel = os.path.relpath(stub_path(modname), ROOT)
    for name, node in stub_names(parse_stub(modname)).items():
        obj = getattr(mod, name, None)
        if isinstance(node, ast.FunctionDef):
            _compare(f"{rel}: {name}", node, obj)
        elif isinstance(node, ast.ClassDef):
            bases = [ast.unparse(b) for b in node.bases]
            fields = [s.target.id for s in node.body
                      if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)]
            if "NamedTuple" in bases:
                assert list(obj._fields) == fields, (
                    f"{rel}: {name} fields {fields}, runtime {list(obj._fields)}. {HOW}")
                continue
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    _compare(f"{rel}: {name}.{item.name}", item, getattr(obj, item.name),
                             drop_self=True)
            for field in fields:
                assert field in getattr(obj, "__annotations__", {}) or field in vars(obj) \
                    or field in _instance_attributes(obj), (
                        f"{rel}: {name}.{field} is not an attribute of {modname}.{name}")


def _instance_attributes(cls):
    """Attributes that ``cls.__init__`` assigns to ``self``."""
    try:
        source = inspect.getsource(cls.__init__)
    except (OSError, TypeError):
        return set()
    return set(re.findall(r"self\.([A-Za-z_]\w*)\s*=", source))


# --------------------------------------------------------------------------
# mypy on the documentation's examples.
# --------------------------------------------------------------------------
def _doc_files():
    files = []
    readme = os.path.join(ROOT, "README.md")
    if os.path.exists(readme):
        files.append(readme)
    for base, _, names in os.walk(os.path.join(ROOT, "docs")):
        files += [os.path.join(base, n) for n in sorted(names) if n.endswith((".rst", ".py"))
                  and n != "conf.py" and "_ext" not in base]
    return files


def extract_examples(path):
    """The Python code of one documentation file, as one module's source."""
    with open(path) as f:
        text = f.read()
    if path.endswith(".py"):
        return text
    chunks = []      # (position in the file, code), put back in the file's order
    if path.endswith(".md"):
        chunks += [(m.start(), m.group(1))
                   for m in re.finditer(r"```python\n(.*?)```", text, flags=re.S)]
    else:
        for m in re.finditer(r"\.\. code-block:: python\n((?:\n|[ \t]+.*\n)+)", text):
            block = m.group(1)
            lines = [ln for ln in block.splitlines() if ln.strip()]
            indent = min(len(ln) - len(ln.lstrip()) for ln in lines)
            chunks.append((m.start(), "\n".join(ln[indent:] for ln in block.splitlines())))
    pos = 0
    for line in text.splitlines(keepends=True):
        s = line.strip()
        if s.startswith((">>> ", "... ")) or s in (">>>", "..."):
            chunks.append((pos, s[4:]))
        pos += len(line)
    # docs/conf.py's doctest_global_setup runs before every page's examples.
    setup = "import numpy as np\nimport fastconv\n" if path.endswith(".rst") else ""
    return setup + "\n".join(code for _, code in sorted(chunks, key=lambda c: c[0]))


def test_doc_examples_are_extracted():
    found = {os.path.relpath(p, ROOT): extract_examples(p) for p in _doc_files()}
    if not found:
        pytest.skip("no documentation here (an installed wheel)")
    assert any("fastconv.conv2d" in code for code in found.values())


@pytest.mark.skipif(not _doc_files(), reason="no documentation here (an installed wheel)")
def test_doc_examples_type_check_against_the_stubs():
    pytest.importorskip("mypy")
    work = tempfile.mkdtemp(prefix="fastconv-mypy-")
    try:
        for i, path in enumerate(_doc_files()):
            code = extract_examples(path)
            if "fastconv" not in code:
                continue
            name = re.sub(r"\W", "_", os.path.relpath(path, ROOT))
            with open(os.path.join(work, f"ex_{i:02d}_{name}.py"), "w") as f:
                f.write(code + "\n")
        # The peers the examples compare with are not checked: following
        # PyTorch's own annotations would take mypy about a minute.
        config = os.path.join(work, "mypy.ini")
        with open(config, "w") as f:
            f.write("[mypy]\n[mypy-torch.*]\nfollow_imports = skip\n")
        env = dict(os.environ)
        if os.path.basename(ROOT) not in ("site-packages", "dist-packages"):
            env["MYPYPATH"] = ROOT     # the source tree's stubs
        result = subprocess.run(
            [sys.executable, "-m", "mypy", "--config-file", config,
             "--no-error-summary", "--hide-error-context", "--cache-dir", os.path.join(work, ".cache"), "--ignore-missing-imports",
             "--follow-imports=silent", "--allow-redefinition",
             # Examples rebind names to other types and know which optional
             # results are there (octave_split's low part for alpha > 0); a
             # code-block may be a fragment using the page's later arrays:
             "--disable-error-code=no-redef", "--disable-error-code=union-attr",
             "--disable-error-code=used-before-def", "--disable-error-code=has-type",
             "--disable-error-code=var-annotated", work],
            cwd=work, env=env, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, (
            "mypy rejects documentation examples against fastconv's stubs (fix the stub, "
            "or the example):\n" + result.stdout + result.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
