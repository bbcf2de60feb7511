"""docs/architecture.md and the README's Layout name every package and top-level module of src/ladder."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "ladder"


def _pieces() -> set[str]:
    found = {p.name for p in SRC.iterdir()
             if not p.name.startswith(("_", ".")) and (p.is_dir() or p.suffix == ".py")}
    return {f"{n}/" if (SRC / n).is_dir() else n for n in found}


def test_the_readme_layout_names_every_package_and_module():
    readme = (ROOT / "README.md").read_text()
    layout = readme[readme.index("## Layout"):].split("```")[1]
    assert not {p for p in _pieces() if p not in layout}


def test_the_architecture_page_names_every_package_and_module():
    page = (ROOT / "docs" / "architecture.md").read_text()
    assert not {p for p in _pieces() if f"`{p}" not in page and f"{p}`" not in page}


def test_nothing_cites_a_design_document_outside_the_repo():
    cited = [str(p.relative_to(ROOT)) for folder in (SRC, ROOT / "tests") for p in folder.rglob("*.py")
             if "DESIGN" + ".md" in p.read_text()]
    assert not cited


def test_the_readme_documents_every_ladder_serve_option():
    from ladder.serve.app import ServeConfig

    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### `ladder serve`"):readme.index("### Batch execution")]
    flags = {name: "allowed-host" if name == "allowed_hosts" else name.replace("_", "-")
             for name in ServeConfig.model_fields}
    assert not [f for f in flags.values() if f"`--{f}" not in section]
