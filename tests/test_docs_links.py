"""Every link and every path the documentation names leads somewhere that exists.

A page that sends a reader to a test that was renamed, a module that moved or a
heading that was reworded is wrong in a way nobody notices until they need it. So:
every relative Markdown link in README.md, docs/ and ceremony/ must reach a file
(and its heading, for `#fragment`); a link whose text names `file.py::test_name`
must reach a file that defines that function; and every repository path that these
pages and pyproject.toml name in their text (`tests/...`, `tests/test_x.py::test_name`,
`vault/....py`, `scripts/...`, `benchmarks/...`, `docs/....md`) must exist. The
checkers are tried on a small page with one mistake of each kind first, so a
checker that finds nothing cannot pass for one that found nothing wrong.
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md"), *(ROOT / "ceremony").rglob("*.md")])
NAMING = sorted([*PAGES, ROOT / "pyproject.toml"])

LINK = re.compile(r"(?<!\\)!?\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(([^()\s]+)\)")
"""[text](target): the text may hold one level of brackets (a parametrized test's id); `\\[` is no link."""
FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
NAMED_TEST = re.compile(r"([\w./-]+\.py)((?:::\w+)+)")
"""`test_x.py::test_name` (or `::Class::method`) in a link's text."""
PATH = re.compile(
    r"(?<![\w./-])((?:tests|scripts|benchmarks)/[\w.-]+(?:/[\w.-]+)*|vault/[\w/]+\.py|docs/[\w.-]+\.md)((?:::\w+)+)?(?![\w*])"
)
"""A repository path named in text, relative to the repository's root; a glob (`tests/test_*.py`) is no path."""
PLACEHOLDER = re.compile(r"[A-Z]{3,}")
"""A word in capitals stands for any name, as in `--out DIR`: `tests/fuzz/fuzz_TARGET.py`."""


@functools.cache
def functions(path: Path) -> frozenset[str]:
    """Every function a Python file defines, as `name` and `Class::name`."""
    names: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names |= {f"{node.name}::{item.name}" for item in node.body if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))}
    return frozenset(names)


def slugs(path: Path) -> frozenset[str]:
    """The anchors GitHub makes for a page's headings: lower case, punctuation dropped, spaces as hyphens, repeats numbered."""
    seen: dict[str, int] = {}
    found = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", FENCE.sub("", path.read_text()), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        found.add(f"{slug}-{seen[slug]}" if slug in seen else slug)
        seen[slug] = seen.get(slug, 0) + 1
    return frozenset(found)


def target_problem(path: Path, tests: str | None = None, fragment: str | None = None) -> str | None:
    """What is wrong with a path a page names: missing, a test it does not define, a heading it does not have."""
    if not path.exists():
        return "no such file"
    if tests:
        name = tests.removeprefix("::")
        if path.suffix != ".py" or not path.is_file() or name not in functions(path):
            return f"defines no {name}"
    if fragment and path.suffix == ".md" and fragment not in slugs(path):
        return f"has no heading #{fragment}"
    return None


def broken_links(page: Path, text: str) -> list[str]:
    """The relative links in Markdown `text` (the page `page`) that lead nowhere."""
    broken = []
    for label, target in LINK.findall(FENCE.sub("", text)):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        file, _, fragment = target.partition("#")
        path = (page.parent / file).resolve() if file else page
        named = NAMED_TEST.search(label)
        if named and Path(named.group(1)).name != path.name:
            broken.append(f"[{label}]({target}): names {Path(named.group(1)).name}, links to {path.name}")
            continue
        problem = target_problem(path, named.group(2) if named else None, fragment or None)
        if problem:
            broken.append(f"[{label}]({target}): {problem}")
    return broken


def missing_paths(text: str) -> list[str]:
    """The repository paths (and test functions) `text` names that do not exist."""
    missing = []
    for path, tests in PATH.findall(text):
        path = path.rstrip(".-")
        pattern = PLACEHOLDER.search(path)
        if pattern:  # a pattern: the folder it names must exist
            path = path[: path.rfind("/", 0, pattern.start())]
        problem = target_problem(ROOT / path, tests or None)
        if problem:
            missing.append(f"{path}{tests}: {problem}")
    return missing


def test_the_checkers_find_each_kind_of_mistake(tmp_path: Path) -> None:
    """A page with one good and one broken example of each thing checked: only the broken ones are reported."""
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text("def test_here():\n    pass\n\n\nclass TestGroup:\n    def test_in(self):\n        pass\n")
    (tmp_path / "docs").mkdir()
    page = tmp_path / "docs" / "page.md"
    text = (
        "# Page\n\n## A section: `with code`\n\n"
        "[ok](../tests/test_x.py) [ok](#a-section-with-code) [ok](page.md#page) [ok](https://example.org/nowhere)\n"
        "[test_x.py::test_here[param-id]](../tests/test_x.py) [test_x.py::TestGroup::test_in](../tests/test_x.py)\n"
        "[gone](../tests/test_gone.py) [test_x.py::test_renamed](../tests/test_x.py) [section](page.md#no-such-section)\n"
        "`\\[x\\](http\\://evil)` is shown, not linked [test_y.py::test_here](../tests/test_x.py)\n"
        "```\n[in a code block](nowhere.md)\n```\n"
    )
    page.write_text(text)
    assert broken_links(page, text) == [
        "[gone](../tests/test_gone.py): no such file",
        "[test_x.py::test_renamed](../tests/test_x.py): defines no test_renamed",
        "[section](page.md#no-such-section): has no heading #no-such-section",
        "[test_y.py::test_here](../tests/test_x.py): names test_y.py, links to test_x.py",
    ]
    mentioned = ("see tests/test_transcript.py and tests/test_transcript.py::test_round_trip, tests/test_*.py, "
                 "vault/core/formats/transcript.py; `tests/test_types.py`, tests/test_transcript.py::test_gone, "
                 "vault/core/nothing.py, scripts/nothing.sh and docs/nothing.md. (and vault/manifest.json, an output folder) "
                 "tests/fuzz/fuzz_TARGET.py, tests/nowhere/fuzz_TARGET.py")
    assert missing_paths(mentioned) == [
        "tests/test_types.py: no such file", "tests/test_transcript.py::test_gone: defines no test_gone",
        "vault/core/nothing.py: no such file", "scripts/nothing.sh: no such file", "docs/nothing.md: no such file",
        "tests/nowhere: no such file",
    ]


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_relative_link_leads_somewhere(page: Path) -> None:
    assert broken_links(page, page.read_text()) == []


@pytest.mark.parametrize("page", NAMING, ids=[str(p.relative_to(ROOT)) for p in NAMING])
def test_every_path_a_page_names_exists(page: Path) -> None:
    assert missing_paths(page.read_text()) == []
