"""The README and docs/ a newcomer walks (issue #30): every relative link resolves, every generated block's
markers sit once where `python -m uap readme-results` writes them, every `python -m uap …` one-liner they
show exists, the README opens with `make reproduce` / `make test`, stays short and links every page."""
from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest

from uap import readme

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
SPAN = re.compile(r"`[^`]+`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
COMMAND = re.compile(r"python\s+-m\s+uap(\.[\w.]+)?(?:[ \t]+([a-z][\w-]*))?")


def _rel(p: Path) -> str:
    return str(p.relative_to(REPO))


def _prose(text: str) -> str:
    """The text outside fenced blocks and inline code spans (where Markdown links live)."""
    return SPAN.sub("", FENCE.sub("", text))


def _code(text: str) -> list[str]:
    """Fenced blocks and inline code spans, whitespace collapsed (a span may wrap)."""
    fences = FENCE.findall(text)
    rest = FENCE.sub("", text)
    return [" ".join(c.split()) for c in fences + SPAN.findall(rest)]


def _slugs(md: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, -1, -2 … for repeats."""
    seen: dict[str, int] = {}
    out = set()
    for line in FENCE.sub("", md.read_text()).splitlines():
        m = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        slug = re.sub(r"[^\w\- ]", "", m.group(1).lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def _links(page: Path) -> list[str]:
    return LINK.findall(_prose(page.read_text()))


@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_every_relative_link_resolves(page):
    bad = []
    for target in _links(page):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):              # http(s):, mailto:
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if REPO / "results" in dest.parents and not (REPO / "results" / "README.md") == dest:
            continue          # a run's outputs (git-ignored, versioned by DVC): there after a run or python -m uap.pull
        if not dest.exists():
            bad.append(f"{target}: {dest} does not exist")
        elif anchor and dest.suffix == ".md" and anchor not in _slugs(dest):
            bad.append(f"{target}: no heading #{anchor} in {_rel(dest)}")
    assert not bad, f"{_rel(page)}: broken links:\n" + "\n".join(bad)


def test_the_readme_links_every_docs_page_in_one_hop():
    linked = {(REPO / t.partition("#")[0]).resolve() for t in _links(REPO / "README.md")}
    missing = [_rel(p) for p in PAGES[1:] if p.resolve() not in linked]
    assert not missing, f"README.md does not link {missing}"


def test_generated_blocks_sit_once_where_readme_results_writes_them():
    pages = {_rel(p): p.read_text() for p in PAGES}
    for where, pairs in readme.BLOCKS.items():
        assert where in pages, f"{where}: readme.BLOCKS names a page that does not exist"
        for begin, end in pairs:
            for name, text in pages.items():
                n_begin, n_end = text.count(begin), text.count(end)
                if name == where:
                    assert n_begin == 1 and n_end == 1, f"{name}: {begin!r} x{n_begin}, {end!r} x{n_end} (want 1 each)"
                    assert text.index(begin) < text.index(end), f"{name}: {end!r} before {begin!r}"
                else:
                    assert n_begin == n_end == 0, f"{name}: holds {begin!r}, which readme-results writes into {where}"


def _commands() -> dict[tuple[str, str | None], list[str]]:
    found: dict[tuple[str, str | None], list[str]] = {}
    for page in PAGES:
        for code in _code(page.read_text()):
            for m in COMMAND.finditer(code):
                key = ("uap" + m.group(1), None) if m.group(1) else ("uap", m.group(2))
                if key != ("uap", None):
                    found.setdefault(key, []).append(_rel(page))
    return found


def test_the_docs_show_commands():
    found = _commands()
    assert ("uap", "claims-compare") in found and ("uap.benchmarks", None) in found and ("uap.pull", None) in found
    assert ("uap", "readme-results") in found


@pytest.mark.parametrize("key", sorted(_commands(), key=str), ids=lambda k: " ".join(x for x in k if x))
def test_every_command_shown_exists_and_its_help_runs(key, capsys):
    module, command = key
    if command is not None:                                   # python -m uap <command>
        from uap.cli import build_parser
        parser = build_parser()
        choices = next(a for a in parser._actions if a.dest == "command").choices
        assert command in choices, f"`python -m uap {command}` (in {_commands()[key]}) is not a command"
        with pytest.raises(SystemExit) as exc:
            parser.parse_args([command, "--help"])
        assert exc.value.code == 0 and command in capsys.readouterr().out
        return
    mod = importlib.import_module(module)                     # python -m uap.<module>
    source = inspect.getsource(mod)
    assert callable(getattr(mod, "main", None)) and 'if __name__ == "__main__"' in source, \
        f"`python -m {module}` (in {_commands()[key]}) has no main"
    if "argparse" in source:                                  # its own options: --help must work
        with pytest.raises(SystemExit) as exc:
            mod.main(["--help"])
        assert exc.value.code == 0 and capsys.readouterr().out


def test_the_readme_opens_with_make_reproduce_and_make_test():
    text = (REPO / "README.md").read_text()
    first = FENCE.search(text)
    assert first and "`" not in text[:first.start()], "README.md: the first code must be its set-up block"
    lines = [line.split("#", 1)[0].strip() for line in first.group(0).splitlines()[1:-1]]
    assert [line for line in lines if line][:2] == ["make reproduce", "make test"]


def test_the_readme_is_short():
    n = len((REPO / "README.md").read_text().splitlines())
    assert n <= 200, f"README.md has {n} lines; move detail into docs/"
