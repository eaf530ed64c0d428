"""The package layout holds: no import circles, the engine never imports the v2 facade, and
every name a v2 script could reach before the layout was drawn is still there.

The import graph is read from the source with ``ast`` (every ``import`` statement, also those
inside functions), so an import hidden in a function body counts like any other. Importing
``a.b.c`` runs ``a/__init__`` and ``a/b/__init__`` first, so those packages count as
imported too. The backend registry's on-demand loading (``importlib.import_module``) is a
plugin mechanism, not an import statement, and is not part of the graph.
"""

import ast
import json
from pathlib import Path

import pytest

import minidl
import minidl as paddle

PACKAGE = Path(minidl.__file__).parent
FACADE = "minidl.v2"
#: command-line entry points: thin, and allowed to use the facade like any script
ENTRY_POINTS = {"minidl", "minidl.demo", "minidl.inspect"}


def _modules():
    """{dotted name: (path, is_package)} for every module of minidl."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        found[".".join(parts)] = (path, is_package)
    return found


def _targets(module, is_package, node, modules):
    """The minidl modules one import statement names."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name.startswith("minidl")]
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[:len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if not target.startswith("minidl"):
        return []
    # ``from pkg import sub`` imports the submodule; ``from mod import name`` the module
    return [f"{target}.{alias.name}" if f"{target}.{alias.name}" in modules else target
            for alias in node.names]


def import_graph():
    """{module: set of minidl modules its import statements run}."""
    modules = _modules()
    graph = {}
    for module, (path, is_package) in modules.items():
        edges = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            for target in _targets(module, is_package, node, modules):
                while target not in modules and "." in target:
                    target = target.rsplit(".", 1)[0]
                parts, mine = target.split("."), module.split(".")
                # the packages above the target run first, unless they are above us too
                for depth in range(1, len(parts) + 1):
                    name = ".".join(parts[:depth])
                    if name != module and name in modules and mine[:depth] != parts[:depth]:
                        edges.add(name)
                if target != module:
                    edges.add(target)
        graph[module] = edges
    return graph


def strongly_connected(graph):
    """Tarjan's algorithm: the groups of modules that import each other, largest first."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            groups.append(group)

    for v in graph:
        if v not in index:
            visit(v)
    return sorted(groups, key=len, reverse=True)


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert strongly_connected(graph)[0] == {"a", "b", "c"}
    assert all(len(group) == 1 for group in strongly_connected({"a": {"b"}, "b": set()}))


def test_the_graph_sees_imports_inside_functions_and_parent_packages():
    graph = import_graph()
    # minidl.training.inference imports minidl.sparse_inference.plan at module level; the
    # sparse_inference package itself runs first
    assert {"minidl.sparse_inference.plan", "minidl.sparse_inference"} \
        <= graph["minidl.training.inference"]
    assert "minidl.core.tensor" in graph["minidl.functions.basic"]


def test_no_import_circles():
    circles = [sorted(group) for group in strongly_connected(import_graph()) if len(group) > 1]
    assert circles == []


def test_the_engine_never_imports_the_facade():
    graph = import_graph()
    upward = sorted((module, target) for module, targets in graph.items() for target in targets
                    if (target == FACADE or target.startswith(FACADE + "."))
                    and not module.startswith(FACADE) and module not in ENTRY_POINTS)
    assert upward == []


def test_the_facade_defines_nothing_but_init():
    """v2 modules re-export engine objects; only ``paddle.init`` itself lives there."""
    for name in paddle.v2.MODULES:
        module = getattr(paddle.v2, name)
        for attribute in getattr(module, "__all__", []):
            defined_in = getattr(getattr(module, attribute), "__module__", None) or ""
            assert not defined_in.startswith(FACADE), (name, attribute, defined_in)


NAMES = json.loads((Path(__file__).parent / "fixtures" / "v2_names.json").read_text())


@pytest.mark.parametrize("module", sorted(NAMES))
def test_every_v2_name_is_where_scripts_find_it(module):
    """The names ``paddle.<module>.<name>`` that scripts used (listed in
    tests/fixtures/v2_names.json, taken from the package before its layout was drawn)."""
    assert hasattr(paddle, module)
    missing = [name for name in NAMES[module] or () if not hasattr(getattr(paddle, module), name)]
    assert missing == []


def test_v2_modules_import_by_their_own_names():
    import importlib

    import minidl.v2 as v2
    for name in v2.MODULES:
        assert importlib.import_module(f"minidl.{name}") is getattr(paddle, name)
    from minidl.attr import ParamAttr
    from minidl.layer import fc
    assert fc is paddle.layer.fc and ParamAttr is paddle.attr.ParamAttr
    assert v2.layer is paddle.layer and v2.infer is paddle.infer


def test_dataset_modules_are_where_scripts_find_them():
    for name in ("cifar", "common", "flowers", "mnist", "uci_housing"):
        assert hasattr(paddle.dataset, name)
