"""MkDocs hooks (mkdocs.yml `hooks:`): the README as the site's home page, and links to the
repository's own files checked and kept readable.

The pages under docs/ are read in two places: on the forge, where a relative link to
`../deploy/kubernetes/deployment.yaml` opens that file, and on the built site, which holds only
the pages. MkDocs would call such a link "not found" (and `--strict` fail the build) although it
is fine. Here a link that leaves docs/ is checked against the repository instead: a target that
does not exist is a warning (so `mkdocs build --strict` fails, as for a broken link between
pages), and one that exists is written on the site as its repository path in code type.

The home page is README.md itself (no second copy): its links to `docs/<page>.md` become links
between pages, and its links to other files of the repository get the same check.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

log = logging.getLogger("mkdocs.hooks.docs_hooks")

HOME = "index.md"
README = "README.md"
# An inline Markdown link or image: [text](target) or [text](target "title").
_LINK = re.compile(
    r"(?P<image>!?)\[(?P<text>[^\]\n]*)\]\((?P<target>[^)\s]+)(?P<title>\s+\"[^\"]*\")?\)"
)
_FENCE = re.compile(r"^\s*(```|~~~)")
_EXTERNAL = re.compile(r"^([a-z][a-z0-9+.-]*:|#|/)", re.IGNORECASE)


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add the home page made from README.md, unless docs/ has an index.md of its own."""
    if files.get_file_from_path(HOME) is None:
        root = _root(config)
        readme = (root / README).read_text(encoding="utf-8")
        docs = _docs_dir(config).relative_to(root).as_posix()
        files.append(File.generated(config, HOME, content=readme_as_home(readme, docs)))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Check every link that leaves docs/ and write it as the repository path it names."""
    source = PurePosixPath(page.file.src_uri)
    root, docs = _root(config), _docs_dir(config)
    name = README if page.file.generated_by else page.file.src_uri  # the home page is README's
    return rewrite_links(
        markdown, lambda target: _repository_target(target, source, root, docs, name)
    )


def readme_as_home(readme: str, docs: str) -> str:
    """README.md with its links made relative to the home page, which sits in docs/."""

    def relink(target: str) -> str | None:
        path, _, fragment = target.partition("#")
        inside = f"{docs}/"
        moved = path[len(inside) :] if path.startswith(inside) else f"../{path}"
        return moved + (f"#{fragment}" if fragment else "")

    return rewrite_links(readme, relink, replace_with_code=False)


def rewrite_links(
    markdown: str,
    resolve: Callable[[str], str | None],
    *,
    replace_with_code: bool = True,
) -> str:
    """Apply `resolve(target)` to every relative link outside fenced code.

    `resolve` answers a new target, or None to leave the link alone. With `replace_with_code`,
    the answer is a repository path and the link becomes that path in code type (its text first
    when the text says something else).
    """

    def replace(match: re.Match[str]) -> str:
        target = match["target"]
        if _EXTERNAL.match(target):
            return match[0]
        resolved = resolve(target)
        if resolved is None:
            return match[0]
        if not replace_with_code:
            return f"{match['image']}[{match['text']}]({resolved}{match['title'] or ''})"
        text = match["text"].strip()
        if text.strip("`") == resolved:
            return f"`{resolved}`"
        return f"{text} (`{resolved}`)"

    lines, fenced = [], False
    for line in markdown.splitlines(keepends=True):
        if _FENCE.match(line):
            fenced = not fenced
        lines.append(line if fenced else _LINK.sub(replace, line))
    return "".join(lines)


def _repository_target(
    target: str, source: PurePosixPath, root: Path, docs: Path, page: str
) -> str | None:
    """The repository path a link leaving docs/ names (None for links between pages)."""
    path = target.partition("#")[0]
    if not path:
        return None
    resolved = (docs / source.parent / path).resolve()
    if resolved.is_relative_to(docs.resolve()):
        return None  # a link between pages: MkDocs' own validation checks it
    if not resolved.is_relative_to(root.resolve()):
        log.warning("Doc file '%s' links to '%s', which is outside the repository.", page, target)
        return None
    if not resolved.exists():
        log.warning(
            "Doc file '%s' links to '%s', but no such file is in the repository.", page, target
        )
        return None
    relative = resolved.relative_to(root.resolve()).as_posix()
    return f"{relative}/" if resolved.is_dir() else relative


def _root(config: MkDocsConfig) -> Path:
    return Path(config["config_file_path"]).parent


def _docs_dir(config: MkDocsConfig) -> Path:
    return Path(config["docs_dir"])
