"""The documentation site's checks fail on what a reader would trip on.

`./dev test` builds the real site with `mkdocs build --strict`; these tests build a small site with
the same mkdocs.yml settings and hooks, break it one way at a time, and expect the build to fail
naming the break (a build that passed everything would let broken links into main unnoticed).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README_MAX_LINES = 200

PAGES = {
    "a.md": (
        "# Page A\n\n## First part\n\n"
        "See [page B](b.md#second-part) and [the code](../deploy/x.yaml).\n"
    ),
    "b.md": "# Page B\n\n## Second part\n\nBack to [page A](a.md).\n",
}
README = (
    "# Project\n\nRead [page A](docs/a.md#first-part); the manifest is [x.yaml](deploy/x.yaml).\n"
)


def _site(root: Path) -> Path:
    """A small project with the repository's mkdocs.yml (its nav, last, cut to the pages above)."""
    settings, nav, _ = (ROOT / "mkdocs.yml").read_text(encoding="utf-8").partition("\nnav:\n")
    assert nav, "mkdocs.yml: no `nav:` block"
    nav += "  - Home: index.md\n  - A: a.md\n  - B: b.md\n"
    (root / "mkdocs.yml").write_text(settings + nav, encoding="utf-8")
    (root / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "docs_hooks.py", root / "scripts" / "docs_hooks.py")
    (root / "docs").mkdir()
    for name, text in PAGES.items():
        (root / "docs" / name).write_text(text, encoding="utf-8")
    (root / "README.md").write_text(README, encoding="utf-8")
    (root / "deploy").mkdir()
    (root / "deploy" / "x.yaml").write_text("kind: Example\n", encoding="utf-8")
    return root


def _build(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(root / "site")],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        check=False,
    )


def test_the_small_site_builds_with_readme_as_home_and_repository_links_as_paths(
    tmp_path: Path,
) -> None:
    root = _site(tmp_path)
    result = _build(root)
    assert result.returncode == 0, result.stderr
    home = (root / "site" / "index.html").read_text(encoding="utf-8")
    assert 'href="a/#first-part"' in home
    assert "<code>deploy/x.yaml</code>" in home
    page = (root / "site" / "a" / "index.html").read_text(encoding="utf-8")
    assert "the code (<code>deploy/x.yaml</code>)" in page


@pytest.mark.parametrize(
    ("file", "addition", "message"),
    [
        pytest.param("docs/b.md", "[gone](c.md)\n", "'c.md'", id="link to a missing page"),
        pytest.param(
            "docs/b.md", "[gone](a.md#no-part)\n", "'#no-part'", id="link to a missing anchor"
        ),
        pytest.param(
            "docs/b.md",
            "[gone](../deploy/y.yaml)\n",
            "'../deploy/y.yaml'",
            id="link to a missing repository file",
        ),
        pytest.param(
            "README.md", "[gone](docs/c.md)\n", "'c.md'", id="README link to a missing page"
        ),
        pytest.param(
            "README.md",
            "[gone](scripts/nothing.sh)\n",
            "scripts/nothing.sh",
            id="README link to a missing repository file",
        ),
        pytest.param("docs/c.md", "# Page C\n", "c.md", id="page left out of nav"),
    ],
)
def test_a_broken_site_fails_the_strict_build(
    tmp_path: Path, file: str, addition: str, message: str
) -> None:
    root = _site(tmp_path)
    path = root / file
    with path.open("a", encoding="utf-8") as handle:
        handle.write(addition)
    result = _build(root)
    assert result.returncode != 0
    assert message in result.stderr


def test_the_readme_stays_a_first_page() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, (
        f"README.md has {len(lines)} lines: move what a newcomer does not need first into docs/"
    )
