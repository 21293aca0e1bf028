"""Checks of ``provenance``: commit formats, run-log pointer, the deployment-repo binding and the parent."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ..findings import Finding
from ..sections import Provenance
from ._base import COMMIT, RUNLOG_PATH, SHA256, CheckContext, check, no_passport

SECTION = "provenance"
CATEGORY = "provenance"


def _provenance(ctx: CheckContext) -> Provenance:
    passport = ctx.passport
    return (passport.provenance if passport else None) or Provenance()


def _commit_format(name: str, field: str, ctx: CheckContext) -> Finding:
    """Reference rule: the commit is required and must be 7-40 lowercase hex."""
    if (nc := no_passport(name, ctx)):
        return nc
    value = getattr(_provenance(ctx), field)
    if not value:
        return Finding.failed(name, f"provenance.{field} is missing")
    if not COMMIT.match(value):
        return Finding.failed(name, f"provenance.{field} {value!r} is not 7-40 lowercase hex", **{field: value})
    return Finding.passed(name, f"provenance.{field} {value}", **{field: value})


@check("training_repo_commit_format", section=SECTION, category=CATEGORY)
def training_repo_commit_format(ctx: CheckContext) -> Finding:
    """Reference semantics: ``provenance.training_repo_commit`` present and well-formed."""
    return _commit_format("training_repo_commit_format", "training_repo_commit", ctx)


#: Provenance extension written by generate-passport: ``<distribution>==<version>`` of the tool.
TOOL_VERSION_KEY = "passport_creation_tool_version"


def _released_version(value: Any) -> str | None:
    """``value`` when it is ``<distribution>==<PEP 440 version>``, else ``None``."""
    from packaging.version import InvalidVersion, Version

    if not isinstance(value, str) or value.count("==") != 1:
        return None
    distribution, version = value.split("==")
    try:
        Version(version)
    except InvalidVersion:
        return None
    return value if distribution.strip() else None


@check("passport_creation_repo_commit_format", section=SECTION, category=CATEGORY)
def passport_creation_repo_commit_format(ctx: CheckContext) -> Finding:
    """``provenance.passport_creation_repo_commit`` present and well-formed (7-40 lowercase hex).

    Fix (spec §2.6 requires the commit, so a tool installed from a release — no git checkout,
    no VCS URL — could never sign): when the commit is absent, the released tool version
    recorded in the ``provenance.passport_creation_tool_version`` extension
    (``pytest-passport==X.Y.Z``, a valid PEP 440 version) identifies the tool instead and passes.
    A malformed commit still fails, version or not.
    """
    name = "passport_creation_repo_commit_format"
    if (nc := no_passport(name, ctx)):
        return nc
    provenance = _provenance(ctx)
    version = provenance.extra.get(TOOL_VERSION_KEY)
    if not provenance.passport_creation_repo_commit and version is not None:
        if (released := _released_version(version)) is None:
            return Finding.failed(name, f"provenance.passport_creation_repo_commit is missing and "
                                  f"provenance.{TOOL_VERSION_KEY} {version!r} is not <distribution>==<version>",
                                  **{TOOL_VERSION_KEY: version})
        return Finding.passed(name, f"no provenance.passport_creation_repo_commit (tool installed from a release); "
                              f"provenance.{TOOL_VERSION_KEY} {released}", **{TOOL_VERSION_KEY: released})
    return _commit_format(name, "passport_creation_repo_commit", ctx)


@check("run_log_path_format", section=SECTION, category=CATEGORY)
def run_log_path_format(ctx: CheckContext) -> Finding:
    """Reference semantics: an ``http(s)://`` URL or a relative ``.md`` path without ``..``."""
    name = "run_log_path_format"
    if (nc := no_passport(name, ctx)):
        return nc
    value = _provenance(ctx).run_log_path
    if not value:
        return Finding.soft(name, "provenance.run_log_path is missing")
    if "://" in value:
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            return Finding.soft(name, f"provenance.run_log_path {value!r} is not an http(s) URL with a host", run_log_path=value)
        return Finding.passed(name, f"provenance.run_log_path is a URL: {value}", run_log_path=value)
    if ".." in value.split("/"):
        return Finding.soft(name, f"provenance.run_log_path {value!r} climbs out with '..'", run_log_path=value)
    if not RUNLOG_PATH.match(value):
        return Finding.soft(name, f"provenance.run_log_path {value!r} is not a relative .md path", run_log_path=value)
    return Finding.passed(name, f"provenance.run_log_path {value}", run_log_path=value)


def _head_and_dirt(target: Path) -> tuple[str, list[str]]:
    """HEAD sha and tracked files with changes (staged or not) of the repo containing ``target``."""
    import git  # lazy: GitPython is slow to import and needs a git executable

    with git.Repo(target, search_parent_directories=True) as repo:
        head = repo.head.commit.hexsha
        dirty: set[str] = set()
        if repo.is_dirty(untracked_files=False):
            for diff in [*repo.index.diff(None), *repo.index.diff("HEAD")]:
                dirty.add(diff.a_path or diff.b_path)
        return head, sorted(dirty)


@check("deployment_repo_commit", section=SECTION, category=CATEGORY)
def deployment_repo_commit(ctx: CheckContext) -> Finding:
    """Binds the passport to the ``--target-repo`` checkout.

    Fix (spec §8.11, the reference accepts ``require_signoff`` but ignores it): with
    ``require_signoff`` (our load gate) a HEAD mismatch, tracked changes, or a target that is
    not a git repository fail; without it they are soft signals (reference). A recorded
    7-39 character prefix matches a HEAD that starts with it (the reference compares strings).
    """
    name = "deployment_repo_commit"
    if (nc := no_passport(name, ctx)):
        return nc
    expected = _provenance(ctx).deployment_repo_commit
    if not expected:
        return Finding.soft(name, "provenance.deployment_repo_commit is missing")
    if not COMMIT.match(expected):
        return Finding.soft(name, f"provenance.deployment_repo_commit {expected!r} is not 7-40 lowercase hex",
                            expected_commit=expected)
    target = ctx.options.target_repo
    if target is None:
        return Finding.not_checked(name, "no --target-repo given", expected_commit=expected)
    problem = Finding.failed if ctx.options.require_signoff else Finding.soft
    details: dict[str, Any] = {"expected_commit": expected, "actual_commit": None, "dirty_files": [], "target_repo": str(target)}
    if not Path(target).is_dir():
        return problem(name, f"--target-repo {target} is not a directory", **details)
    try:
        head, dirty = _head_and_dirt(Path(target))
    except Exception as exc:  # ImportError (no git executable), not a repo, no commits, git errors
        return problem(name, f"--target-repo {target} is not a usable git repository: {type(exc).__name__}",
                       error=str(exc).splitlines()[0] if str(exc) else "", **details)
    details.update(actual_commit=head, dirty_files=dirty)
    issues = []
    if not head.startswith(expected):
        issues.append(f"HEAD {head[:12]} != provenance.deployment_repo_commit {expected[:12]}")
    if dirty:
        issues.append(f"{len(dirty)} tracked file(s) modified")
    if issues:
        return problem(name, f"--target-repo {target}: {'; '.join(issues)}", **details)
    return Finding.passed(name, f"--target-repo {target} is clean at {head[:12]}", **details)


#: URI schemes whose parent would be fetched over the network; validation never does that.
REMOTE_SCHEMES = ("s3", "hf")


@check("parent_checkpoint_verified", section=SECTION, category=CATEGORY)
def parent_checkpoint_verified(ctx: CheckContext) -> Finding:
    """The parent's passport still hashes to ``provenance.parent_checkpoint`` when the parent is local.

    Only local forms (a directory, a ``.zip``, ``file://``, ``:latest``) are opened; ``s3://`` and
    ``hf://`` parents are not fetched during validation. An unreachable parent is a soft signal.
    """
    name = "parent_checkpoint_verified"
    if (nc := no_passport(name, ctx)):
        return nc
    prov = _provenance(ctx)
    recorded, uri = prov.parent_checkpoint, prov.parent_checkpoint_uri
    if not recorded:
        return Finding.not_checked(name, "no provenance.parent_checkpoint (not a resumed or fine-tuned run)")
    if not SHA256.match(recorded):
        return Finding.failed(name, f"provenance.parent_checkpoint {recorded!r} is not 64 lowercase hex",
                              parent_checkpoint=recorded)
    details: dict[str, Any] = {"parent_checkpoint": recorded, "parent_checkpoint_uri": uri}
    if not uri:
        return Finding.not_checked(name, "parent location not recorded (no provenance.parent_checkpoint_uri)", **details)
    from .. import bundle  # lazy: zip extraction and URI handling are only needed here
    from ..errors import BundleError, CheckpointNotFoundError
    from ..hashing import sha256_file
    from ..schema import PASSPORT_FILENAME

    if bundle.uri_scheme(uri) in REMOTE_SCHEMES:
        return Finding.not_checked(name, f"remote parent not fetched during validation: {uri}", **details)
    try:
        resolved = bundle.resolve(uri)
    except (CheckpointNotFoundError, BundleError) as exc:
        return Finding.soft(name, f"provenance.parent_checkpoint_uri {uri} is unreachable: {exc}", **details)
    path = resolved.root / PASSPORT_FILENAME
    if not path.is_file():
        return Finding.soft(name, f"provenance.parent_checkpoint_uri {uri}: no {PASSPORT_FILENAME} in the parent",
                            **details)
    actual, _ = sha256_file(path)
    details["actual_sha256"] = actual
    if actual != recorded:
        return Finding.failed(name, f"{uri}/{PASSPORT_FILENAME} sha256 {actual} != provenance.parent_checkpoint "
                                    f"{recorded}", **details)
    return Finding.passed(name, f"parent {uri}: {PASSPORT_FILENAME} sha256 matches {recorded[:12]}", **details)
