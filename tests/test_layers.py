"""The architecture, enforced: what each layer of `vault/` may import (docs/architecture.md).

An AST walk over every module, its imports inside functions and under TYPE_CHECKING
included:

- `vault.core` is pure: it imports only itself, `vault.errors`, the pure modules of the
  standard library listed here, and `shamir_mnemonic`, `mnemonic`, `cryptography` and `fontTools`
  (its `unicodedata`: Unicode's script data, for names).
  No files, prompts, printing, processes or tokens: no `os`, `sys`, `pathlib`,
  `subprocess`, `pkcs11`, `typer` or `fpdf`.
- `vault.edges` imports no flow and no CLI.
- `vault.flows` imports no CLI.
- `vault.cli` reaches the edges only through the flows, except `vault.edges.hygiene`,
  which `main` calls before anything else.
- No cycle among the modules' top-level imports (what runs at import time).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

VAULT = Path(__file__).resolve().parent.parent / "vault"

CORE_STANDARD_LIBRARY = {
    "__future__", "abc", "base64", "binascii", "collections", "dataclasses", "datetime", "difflib", "enum", "functools",
    "hashlib", "hmac", "html", "itertools", "json", "math", "re", "secrets", "string", "tomllib", "typing", "unicodedata", "uuid",
}
"""Pure modules: computation only. `secrets` gives the default randomness (a parameter everywhere)."""
CORE_THIRD_PARTY = {"shamir_mnemonic", "mnemonic", "cryptography", "fontTools", "anyascii"}
CLI_EDGE_EXCEPTIONS = {"vault.edges.hygiene"}


def module_name(path: Path) -> str:
    parts = path.relative_to(VAULT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(VAULT.rglob("*.py"))}


def imports(path: Path, top_level_only: bool = False) -> Iterator[str]:
    """The modules `path` imports: `from vault.core import backup` is `vault.core.backup` when that is a module."""
    tree = ast.parse(path.read_text(), str(path))
    nodes = _top_level(tree) if top_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                yield candidate if candidate in MODULES else node.module


def _top_level(tree: ast.Module) -> Iterator[ast.stmt]:
    """Statements run at import time: the module's body, but not `if TYPE_CHECKING:` blocks nor functions."""
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        yield node


def layer(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "vault" and parts[1] in ("core", "edges", "flows", "cli") else "base"


def violations(name: str, path: Path) -> list[str]:
    found = []
    for imported in imports(path):
        top, target = imported.split(".")[0], layer(imported)
        mine = layer(name)
        if mine == "core" and top != "vault" and top not in CORE_STANDARD_LIBRARY | CORE_THIRD_PARTY:
            found.append(f"{name} imports {imported}: the core does no I/O")
        if top == "vault" and mine == "core" and target in ("edges", "flows", "cli"):
            found.append(f"{name} imports {imported}: the core imports no edge, flow or CLI")
        if top == "vault" and mine == "edges" and target in ("flows", "cli"):
            found.append(f"{name} imports {imported}: an edge imports no flow or CLI")
        if top == "vault" and mine == "flows" and target == "cli":
            found.append(f"{name} imports {imported}: a flow imports no CLI")
        if top == "vault" and mine == "cli" and target == "edges" and imported not in CLI_EDGE_EXCEPTIONS:
            found.append(f"{name} imports {imported}: the CLI reaches edges through flows")
    return found


@pytest.mark.parametrize("name", sorted(MODULES))
def test_each_module_imports_only_what_its_layer_may(name: str) -> None:
    assert violations(name, MODULES[name]) == []


def test_the_rule_catches_a_core_module_that_reads_a_file(tmp_path: Path) -> None:
    """The walk itself can fail: a core module importing pathlib, even inside a function, is found."""
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("def read():\n    from pathlib import Path\n    return Path('x').read_text()\n")
    assert violations("vault.core.sneaky", sneaky) == ["vault.core.sneaky imports pathlib: the core does no I/O"]


def test_no_import_cycle_at_import_time() -> None:
    graph = {name: {i for i in imports(path, top_level_only=True) if i in MODULES and i != name} for name, path in MODULES.items()}
    cycles = []
    state: dict[str, str] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = "open"
        for nxt in sorted(graph[name]):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join(trail[trail.index(nxt):] + [nxt]) if nxt in trail else f"{name} -> {nxt}")
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_top_level_holds_the_four_layers_and_little_else() -> None:
    """vault/: __init__, __main__, errors, and the layer packages (templates/ is data, not a module)."""
    modules = {p.stem for p in VAULT.glob("*.py")} | {p.name for p in VAULT.iterdir() if (p / "__init__.py").exists()}
    assert modules - {"__init__", "__main__", "errors"} == {"core", "edges", "flows", "cli"}
