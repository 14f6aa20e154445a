"""The module layering of docs/architecture.rst holds in the code.

The docs page's layer table is the rule: every module of the package is in
it, a module imports only modules of its own layer or lower ones, the imports
have no cycle, no import of a fastconv module hides inside a function, no
module imports another module's underscore names, and only the entry points
import ``fastconv.reference``, which imports nothing else of fastconv.
"""
import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "fastconv"
DOC = ROOT / "docs" / "architecture.rst"
REFERENCE = "fastconv.reference"
# Cython's import statements (cimport too), possibly with a parenthesised list.
_CY_IMPORT = re.compile(r"^(?:from\s+([\w.]+)\s+c?import\s+(\([^)]*\)|[^\n]*)|c?import\s+([\w.]+))",
                        re.M)


def read_layers(text):
    """``{module: layer}`` from the list-table of docs/architecture.rst: rows
    ``* - <layer> <name>``, their second cell listing the modules."""
    layers = {}
    for row in re.split(r"\n\s*\* - ", text)[1:]:
        level = re.match(r"(\d+)\b", row)
        if level is None:
            continue
        cells = re.split(r"\n\s*- ", row)
        for name in re.findall(r"``([\w.]+)``", cells[1]):
            layers[name] = int(level.group(1))
    return layers


def module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def package_modules():
    """Every module of the package: Python files, Cython sources and declarations."""
    files = [p for p in PACKAGE.rglob("*") if p.suffix in (".py", ".pyx", ".pxd")]
    return {module_name(p): p for p in sorted(files)
            if p.name != "__main__.py" or p.parent == PACKAGE}


def _is_module(name, modules):
    return name in modules


def imports_of(path, modules):
    """``(line, imported module, imported names, inside a function)`` of every
    import of a fastconv module in ``path``."""
    found = []
    text = path.read_text()
    if path.suffix != ".py":
        for m in _CY_IMPORT.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            module = m.group(1) or m.group(3)
            names = re.findall(r"[A-Za-z_]\w*", m.group(2) or "")
            names = [n for n in names if n not in ("as",)]
            if module.startswith("fastconv"):
                found += _resolve(line, module, names, False, modules)
        return found
    tree = ast.parse(text)
    functions = [n for n in ast.walk(tree)
                 if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))]
    nested = {id(n) for f in functions for n in ast.walk(f) if n is not f}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}:{node.lineno}: relative import"
            if node.module and node.module.startswith("fastconv"):
                names = [a.name for a in node.names]
                found += _resolve(node.lineno, node.module, names, id(node) in nested, modules)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("fastconv"):
                    found.append((node.lineno, alias.name, [], id(node) in nested))
    return found


def _resolve(line, module, names, in_function, modules):
    """``from module import a, b``: the submodules among the names are imports
    of those modules; the other names are imports from ``module``."""
    result, plain = [], []
    for name in names:
        if _is_module(f"{module}.{name}", modules):
            result.append((line, f"{module}.{name}", [], in_function))
        else:
            plain.append(name)
    if plain or not result:
        result.append((line, module, plain, in_function))
    return result


def private_attributes(path, modules):
    """``(line, module, attribute)`` where a module bound by an import is used
    for an underscore name that is not one of its submodules."""
    if path.suffix != ".py":
        return []
    tree = ast.parse(path.read_text())
    bound = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("fastconv"):
            for a in node.names:
                if _is_module(f"{node.module}.{a.name}", modules):
                    bound[a.asname or a.name] = f"{node.module}.{a.name}"
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("fastconv"):
                    bound[a.asname or a.name.split(".")[0]] = a.asname and a.name or "fastconv"
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in bound and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and not _is_module(f"{bound[node.value.id]}.{node.attr}", modules)):
            found.append((node.lineno, bound[node.value.id], node.attr))
    return found


def violations(layers, graph, in_function, private):
    """Every broken rule, as readable lines.

    ``graph``: ``{module: {imported module: first line}}``; ``in_function``
    and ``private``: ``(module, line, what)`` found by the parsers.
    """
    problems = []
    for module in graph:
        if module not in layers and not module.startswith(REFERENCE):
            problems.append(f"{module} is in no layer of docs/architecture.rst")
    for module, targets in graph.items():
        for target, line in targets.items():
            where = f"{module}:{line} imports {target}"
            if module.startswith(REFERENCE):
                if not target.startswith(REFERENCE):
                    problems.append(f"{where}: fastconv.reference imports only itself")
                continue
            if target.startswith(REFERENCE):
                if layers.get(module) != max(layers.values()):
                    problems.append(f"{where}: only the entry points use the reference")
                continue
            if module in layers and target in layers and layers[target] > layers[module]:
                problems.append(f"{where}: layer {layers[target]} above layer {layers[module]}")
    for module, line, target in in_function:
        problems.append(f"{module}:{line} imports {target} inside a function")
    for module, line, what in private:
        problems.append(f"{module}:{line} uses the private name {what} of another module")
    problems += [f"import cycle: {' -> '.join(c)}" for c in cycles(graph)]
    return problems


def cycles(graph):
    """The import cycles of ``graph`` (one per strongly connected component)."""
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph.get(v, ()):
                found.append(sorted(component) + [sorted(component)[0]])

    for v in list(graph):
        if v not in index:
            visit(v)
    return found


def scan():
    """The package's import graph and the findings of the parsers."""
    modules = package_modules()
    graph, in_function, private = {}, [], []
    for module, path in modules.items():
        targets = graph.setdefault(module, {})
        for line, target, names, hidden in imports_of(path, modules):
            if target == module:
                continue
            targets.setdefault(target, line)
            if hidden:
                in_function.append((module, line, target))
            underscored = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if underscored and not module.startswith(REFERENCE):
                # (fastconv.reference's internals are the reference's own business)
                private += [(module, line, f"{target}.{n}") for n in underscored]
        if not module.startswith(REFERENCE):
            private += [(module, line, f"{m}.{a}")
                        for line, m, a in private_attributes(path, modules)]
    return modules, graph, in_function, private


def test_layer_table_names_real_modules():
    layers = read_layers(DOC.read_text())
    modules = package_modules()
    assert layers, "no layer table found in docs/architecture.rst"
    missing = sorted(m for m in layers if m not in modules)
    assert not missing, f"docs/architecture.rst names modules that do not exist: {missing}"


def test_imports_follow_the_layers():
    layers = read_layers(DOC.read_text())
    _, graph, in_function, private = scan()
    problems = violations(layers, graph, in_function, private)
    assert not problems, "\n".join(problems)


def test_the_check_catches_what_it_names():
    """The checker itself, on a made-up package: each rule broken once."""
    layers = {"a": 0, "b": 1, "c": 1, "top": 2}
    graph = {
        "a": {"b": 3},                       # upward import
        "b": {"c": 4},
        "c": {"b": 5},                       # b <-> c cycle
        "top": {"fastconv.reference": 1},    # allowed: the entry points
        "fastconv.reference._x": {"a": 2},   # the reference importing the package
        "new": {},                           # not in the table
    }
    problems = violations(layers, graph, [("b", 9, "a")], [("c", 7, "b._helper")])
    text = "\n".join(problems)
    assert "a:3 imports b: layer 1 above layer 0" in text
    assert "import cycle: b -> c -> b" in text
    assert "fastconv.reference._x:2 imports a" in text
    assert "new is in no layer" in text
    assert "b:9 imports a inside a function" in text
    assert "c:7 uses the private name b._helper" in text
    assert not any(p.startswith("top:") for p in problems)
    assert len(problems) == 6


@pytest.mark.parametrize("source, expected", [
    ("from fastconv._args import as_array, _secret\n", [("fastconv._args", ["as_array", "_secret"])]),
    ("from fastconv import _args, grad\n", [("fastconv._args", []), ("fastconv.grad", [])]),
    ("def f():\n    from fastconv.grad import bias\n", [("fastconv.grad", ["bias"])]),
])
def test_import_parser(tmp_path, source, expected):
    path = tmp_path / "m.py"
    path.write_text(source)
    modules = package_modules()
    found = imports_of(path, modules)
    assert [(t, n) for _, t, n, _ in found] == expected
    assert all(hidden == source.startswith("def") for *_, hidden in found)
