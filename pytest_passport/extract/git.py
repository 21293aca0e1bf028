"""Git state for ``provenance``: the training repo, the deployment repo and the tool's own repo.

GitPython is imported lazily: it needs a ``git`` executable, and only runs that name a repo
(or look up the tool's commit) need one.
"""

from __future__ import annotations

import importlib.metadata
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ._common import ExtractionError

#: The distribution whose commit goes into ``provenance.passport_creation_repo_commit``.
DISTRIBUTION = "pytest-passport"
#: Provenance extension key holding the released version of the tool that wrote the passport
#: (``pytest-passport==X.Y.Z``), recorded always; it stands in for the commit when the tool
#: was installed from a release (no git checkout, no VCS URL).
TOOL_VERSION_KEY = "passport_creation_tool_version"
#: How many changed paths a "dirty repo" message lists before summarising.
LISTED_CHANGES = 5


@dataclass(frozen=True)
class RepoState:
    url: str
    commit: str
    dirty_files: tuple[str, ...]

    @property
    def dirty(self) -> bool:
        return bool(self.dirty_files)


def public_url(url: str) -> str:
    """``url`` without credentials: an https token must never be written into a passport."""
    parts = urlsplit(url)
    if not parts.scheme or "@" not in parts.netloc:
        return url  # scp-style "git@host:org/repo" carries no secret
    userinfo, host = parts.netloc.rsplit("@", 1)
    if parts.scheme in ("http", "https"):
        return urlunsplit(parts._replace(netloc=host))
    user = userinfo.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}@{host}"))


def _import_git() -> Any:
    try:
        import git
    except ImportError as exc:  # GitPython raises ImportError when no git executable is found
        raise ExtractionError(f"reading git state needs GitPython and a git executable: {exc}") from None
    return git


def _origin_or_path(repo: Any, path: Path) -> str:
    names = [remote.name for remote in repo.remotes]
    if "origin" in names:
        url = repo.remotes.origin.url
        if url:
            return public_url(url)
    return str(path.resolve())


def _tracked_changes(repo: Any) -> tuple[str, ...]:
    """Paths with uncommitted changes to tracked files (untracked files do not count)."""
    if not repo.is_dirty(untracked_files=False):
        return ()
    lines = repo.git.status("--porcelain", "--untracked-files=no").splitlines()
    return tuple(line[3:] for line in lines if line.strip()) or ("(uncommitted changes)",)


def read_repo(path: Path, flag: str) -> RepoState:
    """Origin URL (or absolute path), HEAD commit and tracked changes of the checkout at ``path``."""
    git = _import_git()
    if not path.is_dir():
        raise ExtractionError(f"{flag} {path}: not a directory")
    try:
        repo = git.Repo(path, search_parent_directories=False)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise ExtractionError(f"{flag} {path}: not the root of a git checkout") from None
    try:
        with repo:
            commit = repo.head.commit.hexsha
            return RepoState(_origin_or_path(repo, path), commit, _tracked_changes(repo))
    except ValueError:
        raise ExtractionError(f"{flag} {path}: the repository has no commits") from None
    except git.GitCommandError as exc:
        raise ExtractionError(f"{flag} {path}: git failed: {str(exc).strip().splitlines()[0]}") from None


def describe_changes(state: RepoState) -> str:
    shown = ", ".join(state.dirty_files[:LISTED_CHANGES])
    more = f" (+{len(state.dirty_files) - LISTED_CHANGES} more)" if len(state.dirty_files) > LISTED_CHANGES else ""
    return shown + more


def tool_repo() -> tuple[str | None, str | None]:
    """``(repo, commit)`` of the pytest-passport source that is running, when knowable.

    First the git checkout that tracks this package's source (a checkout that merely contains
    an installed copy, e.g. a virtualenv inside some project, does not count); then the commit
    pip recorded in ``direct_url.json`` for an install from a VCS URL.
    """
    found = _checkout_of_package()
    if found[1]:
        return found
    return _direct_url_commit()


def tool_version() -> str:
    """``pytest-passport==<version>`` of the running tool (installed metadata, else the package's own)."""
    try:
        version = importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        from .. import __version__ as version
    return f"{DISTRIBUTION}=={version}"


def _checkout_of_package() -> tuple[str | None, str | None]:
    package_dir = Path(__file__).resolve().parent.parent
    try:
        git = _import_git()
        repo = git.Repo(package_dir, search_parent_directories=True)
    except Exception:  # noqa: BLE001 - no checkout (or no git): fall back to install metadata
        return None, None
    try:
        with repo:
            workdir = Path(repo.working_tree_dir or "").resolve()
            relative = package_dir.relative_to(workdir).as_posix()
            commit = repo.head.commit
            commit.tree / relative  # KeyError when the checkout does not track the package
            return _origin_or_path(repo, workdir), commit.hexsha
    except Exception:  # noqa: BLE001 - untracked copy, detached weirdness, no commits
        return None, None


def _direct_url_commit() -> tuple[str | None, str | None]:
    try:
        text = importlib.metadata.distribution(DISTRIBUTION).read_text("direct_url.json")
        data = json.loads(text) if text else None
    except (importlib.metadata.PackageNotFoundError, ValueError, OSError):
        return None, None
    if not isinstance(data, dict):
        return None, None
    vcs = data.get("vcs_info")
    commit = vcs.get("commit_id") if isinstance(vcs, dict) else None
    url = data.get("url")
    if not isinstance(commit, str) or not commit:
        return None, None
    return (public_url(url) if isinstance(url, str) else None), commit.lower()
