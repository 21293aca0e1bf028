"""The pytest plugin: ``pytest --checkpoint=PATH`` collects a checkpoint as a test suite.

Options, markers and hookspecs are registered here, and collection is redirected to the
checkpoint; :mod:`.reporter` folds the reports into the session state on the controlling
process, which alone writes SIGNOFF.json at session finish.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from ._cliutil import one_line
from .checkpoint import Checkpoint
from .checks import CATEGORIES, SECTION_ORDER, CheckOptions
from .nodes import NODE_ROOT, SESSION_KEY, CheckItem, CheckpointSuite
from .reporter import PROGRESS_KEY, PassportReporter
from .session import PassportSession

SKIPPABLE = tuple(dict.fromkeys(SECTION_ORDER + CATEGORIES))


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from . import hookspec

    pluginmanager.add_hookspecs(hookspec)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("passport", "checkpoint passport")
    group.addoption("--checkpoint", metavar="PATH", default=None, help="Collect this checkpoint directory as a test suite.")
    group.addoption(
        "--require-signoff",
        action="store_true",
        default=False,
        help="Fail unless SIGNOFF.json exists and matches (the load gate).",
    )
    group.addoption("--target-repo", metavar="DIR", default=None, help="Deployment repo whose HEAD must equal provenance.deployment_repo_commit.")
    group.addoption("--dataset-path", metavar="DIR", default=None, help="Local LeRobot-format dataset for input_contract_vs_dataset.")
    group.addoption(
        "--skip-section",
        metavar="NAME",
        action="append",
        default=[],
        help=f"Drop a section's checks (iteration only; never signs). One of: {', '.join(SKIPPABLE)}.",
    )
    group.addoption("--sign", action="store_true", default=False, help="Write SIGNOFF.json when nothing failed hard.")
    group.addoption("--reason", metavar="TEXT", default=None, help="verdict_reason for the signoff (required with soft signals).")
    group.addoption("--signing-key", metavar="FILE", default=None, help="Ed25519 private key (PEM or OpenSSH, mode 0600) that signs SIGNOFF.json (with --sign).")
    group.addoption(
        "--trusted-key",
        metavar="FILE",
        action="append",
        default=[],
        help="Pinned Ed25519 public key (repeatable; replaces [tool.pytest_passport] trusted_keys): the signoff must be signed by one.",
    )
    group.addoption("--model-signing-signature", metavar="FILE", default=None, help="OpenSSF model-signing bundle to verify (with --model-signing-key).")
    group.addoption("--model-signing-key", metavar="FILE", default=None, help="EC public key (PEM) the model-signing bundle must verify with.")
    group.addoption(
        "--passport-device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="Device for checks that run the model (default: cuda when available).",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """Refuse, before any conftest.py is imported, a run the checkpoint could configure (see guard.py)."""
    from .guard import early_check

    early_check(early_config)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "static: passport check that reads files only")
    config.addinivalue_line("markers", "gpu: passport check that runs the model (on CPU when no GPU is present)")
    config.addinivalue_line("markers", "soft_signal: passport check that reported a soft signal")
    given = config.getoption("checkpoint")
    if not given:
        return
    session = _build_session(config, given)
    config.stash[SESSION_KEY] = session
    config.pluginmanager.register(PassportReporter(config, session), "passport-reporter")
    ids = _take_node_ids(config)
    # resolved now, so an unknown id is a usage error before any worker starts
    config.stash[NODE_NAMES_KEY] = _named_items(session, ids) if ids is not None else None
    if not hasattr(config, "workerinput"):
        trusted = [key.openssh for key in session.options.trusted_keys]
        config.pluginmanager.register(XdistHandoff(session.checkpoint.root, trusted, ids), "passport-xdist-handoff")
    if config.args_source is not pytest.Config.ArgsSource.ARGS:
        # Only the checkpoint: its suite is injected at collection (see below), and the
        # checkpoint directory is never a collection path, so pytest never imports a
        # conftest.py that an untrusted checkpoint might carry.
        config.args = []


def _build_session(config: pytest.Config, given: str) -> PassportSession:
    root = _local_root(config, given)
    from .guard import late_check

    late_check(config, root)
    skip = set(config.getoption("skip_section") or [])
    unknown = sorted(skip - set(SKIPPABLE))
    if unknown:
        raise pytest.UsageError(f"--skip-section {unknown[0]}: unknown section (choose from {', '.join(SKIPPABLE)})")
    require = bool(config.getoption("require_signoff"))
    sign = bool(config.getoption("sign"))
    if require and skip:
        raise pytest.UsageError(
            f"--require-signoff cannot be combined with --skip-section {sorted(skip)[0]}: the load gate runs every check"
        )
    if require and sign:
        raise pytest.UsageError("--sign and --require-signoff exclude each other: sign first, then gate")
    trusted_keys, signing_key = _keys(config, root, sign)
    options = CheckOptions(
        require_signoff=require,
        signing=sign,
        target_repo=_optional_dir(config, "target_repo"),
        dataset_path=_optional_dir(config, "dataset_path"),
        device=config.getoption("passport_device"),
        hook_config=config,
        trusted_keys=trusted_keys,
        model_signing=_model_signing(config),
    )
    return PassportSession(
        checkpoint=Checkpoint(root),
        source=given,
        options=options,
        sign=sign,
        reason=config.getoption("reason"),
        skip_sections=skip,
        signing_key=signing_key,
        gpu=wants_gpu(config),
    )


def names_marker(config: pytest.Config, marker: str) -> bool:
    """Whether the run's ``-m`` expression names ``marker``."""
    import re

    return bool(re.search(rf"\b{marker}\b", config.getoption("markexpr", "") or ""))


def wants_gpu(config: pytest.Config) -> bool:
    """The model-running items are collected only when ``-m`` names the ``gpu`` marker.

    Model code is imported only when asked; the same expression reaches every xdist worker,
    so collection stays identical.
    """
    return names_marker(config, "gpu")


def _mark_soft_signals(state: PassportSession, items: list[pytest.Item]) -> None:
    """For ``-m soft_signal``: run the section checks now and mark those that report a soft signal.

    Section checks are pure and cheap (per-file hash items and model-running items are not run
    here and never carry the marker); each finding is kept for the item's own run, so a check
    runs once. The same files give the same findings on every xdist worker.
    """
    for item in items:
        if isinstance(item, CheckItem) and not item.planned.is_file and not item.planned.gpu:
            item.evaluate_early(state.context)


def _model_signing(config: pytest.Config) -> tuple[Path, Path] | None:
    """``--model-signing-signature`` and ``--model-signing-key``, absolute (workers inherit them)."""
    signature, key = config.getoption("model_signing_signature"), config.getoption("model_signing_key")
    if not signature and not key:
        return None
    if not (signature and key):
        raise pytest.UsageError("--model-signing-signature and --model-signing-key go together")
    from .interop.model_signing import available

    if not available():
        raise pytest.UsageError("--model-signing-signature needs the model-signing package: pip install 'pytest-passport[model-signing]'")
    for value in (signature, key):
        if not Path(value).is_file():
            raise pytest.UsageError(f"{value}: no such file")
    config.option.model_signing_signature, config.option.model_signing_key = map(os.path.abspath, (signature, key))
    return Path(config.option.model_signing_signature), Path(config.option.model_signing_key)


def _keys(config: pytest.Config, root: Path, sign: bool) -> tuple[tuple[Any, ...], Any]:
    """Pinned public keys (``--trusted-key``, else the rootdir's pyproject) and the signing key.

    Workers take the controller's resolved keys; only the controller loads the private key.
    """
    from .authenticity import load_trusted, resolve_trusted
    from .keys import KeyFileError, load_private_key

    handed = getattr(config, "workerinput", {}).get("passport_trusted_keys")
    key_path = config.getoption("signing_key")
    if key_path and not sign:
        raise pytest.UsageError("--signing-key signs SIGNOFF.json: it needs --sign")
    try:
        if handed is not None:
            trusted = load_trusted(handed)
        else:
            trusted = resolve_trusted(config.getoption("trusted_key"), config.rootpath, root)
        private = load_private_key(key_path) if key_path and not hasattr(config, "workerinput") else None
    except KeyFileError as exc:
        raise pytest.UsageError(str(exc)) from None
    return trusted, private


def _local_root(config: pytest.Config, given: str) -> Path:
    """The local directory to validate: a worker takes the controller's, others resolve.

    Zips, ``file://``, ``s3://``, ``hf://`` and ``:latest`` are made local once, on the
    controlling process, so xdist workers never download or extract again.
    """
    handed = getattr(config, "workerinput", {}).get("passport_root")
    if handed:
        return Path(os.fsdecode(handed))
    from . import bundle
    from .errors import PassportError, UnreadableCheckpointError

    from .guard import local_root, readable_root

    try:
        if (local := local_root(given)) is not None:
            readable_root(local)
        return readable_root(bundle.resolve(given).root)
    except UnreadableCheckpointError as exc:
        raise pytest.UsageError(f"--checkpoint {exc}") from None
    except PassportError as exc:
        raise pytest.UsageError(f"--checkpoint {given}: {exc}") from None
    except OSError as exc:  # e.g. a directory this user may not list
        raise pytest.UsageError(f"--checkpoint {given}: cannot read {exc.filename or given}: {exc.strerror or exc}") from None


#: Item names selected by node ids given as positional arguments (``checkpoint::section[name]``), or None.
NODE_NAMES_KEY = pytest.StashKey[frozenset[str] | None]()


def _take_node_ids(config: pytest.Config) -> tuple[str, ...] | None:
    """The printed node ids passed back as arguments, taken out of ``config.args``.

    pytest would look for a file named ``checkpoint``; the suite is not a file, so the ids
    select its items instead (a worker gets them from the controller). When a path named
    ``checkpoint`` exists in the invocation directory, the argument keeps pytest's meaning.
    """
    handed = getattr(config, "workerinput", {}).get("passport_node_ids")
    if handed is not None:
        config.args = [arg for arg in config.args if arg not in handed]  # a worker may get the raw arguments
        return tuple(handed)
    if hasattr(config, "workerinput") or (config.invocation_params.dir / NODE_ROOT).exists():
        return None
    ours = [arg for arg in config.args if arg == NODE_ROOT or arg.startswith(NODE_ROOT + "::")]
    if not ours:
        return None
    config.args = [arg for arg in config.args if arg not in ours]
    return tuple(ours)


def _named_items(state: PassportSession, ids: tuple[str, ...]) -> frozenset[str]:
    """Item names ``ids`` select: an exact node id, ``checkpoint::<section>`` for a section, ``checkpoint`` for all."""
    chosen: set[str] = set()
    for given in ids:
        matched = {p.item_name for p in state.planned
                   if given in (p.node_id, NODE_ROOT) or p.node_id.startswith(given + "[")}
        if not matched:
            raise pytest.UsageError(one_line(f"{given}: no such check in the checkpoint's suite "
                                             "(node ids look like checkpoint::<section>[<name>])"))
        chosen |= matched
    return frozenset(chosen)


class XdistHandoff:
    """Hands the resolved checkpoint directory (and any node ids given) to every xdist worker."""

    def __init__(self, root: Path, trusted_keys: list[str] | None = None,
                 node_ids: tuple[str, ...] | None = None) -> None:
        self.root = root
        self.trusted_keys = list(trusted_keys or [])
        self.node_ids = list(node_ids) if node_ids is not None else None

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput["passport_root"] = os.fsencode(self.root)  # bytes: any file name crosses execnet
        node.workerinput["passport_trusted_keys"] = self.trusted_keys
        node.workerinput["passport_node_ids"] = self.node_ids


def _optional_dir(config: pytest.Config, name: str) -> Path | None:
    value = config.getoption(name)
    return Path(value) if value else None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Put the checkpoint's suite first, before -k/-m/--deselect see the items.

    Checks of sections named by ``--skip-section``, and those no node id given as an argument
    names, are collected, then deselected.
    """
    state = config.stash.get(SESSION_KEY, None)
    if state is None:
        return
    suite = CheckpointSuite.from_parent(session, name=NODE_ROOT, path=state.checkpoint.root, nodeid=NODE_ROOT)
    collected = suite.collect()
    config.hook.pytest_collectreport(report=pytest.CollectReport(suite.nodeid, "passed", None, collected))
    keep = {p.item_name for p in state.selected}
    named = config.stash.get(NODE_NAMES_KEY, None)
    if named is not None:
        keep &= named
    if names_marker(config, "soft_signal"):
        _mark_soft_signals(state, [item for item in collected if item.name in keep])
    skipped = [item for item in collected if item.name not in keep]
    if skipped:
        config.hook.pytest_deselected(items=skipped)
    items[:0] = [item for item in collected if item.name in keep]


def pytest_collection_finish(session: pytest.Session) -> None:
    state = session.config.stash.get(SESSION_KEY, None)
    if state is None:
        return
    state.note_selected([i.name for i in session.items if isinstance(i, CheckItem)])
    if hasattr(session.config, "workerinput") or session.config.option.collectonly:
        return
    # Hash all declared files up front on every core; each file item then takes its digest.
    files = [i.planned for i in session.items if isinstance(i, CheckItem) and i.planned.is_file]
    from .suite import prefetch_digests

    prefetch_digests(state.context, files)
    _start_progress(session.config, state, files)


def _start_progress(config: pytest.Config, state: PassportSession, files: list[Any]) -> None:
    """The stderr progress line of long hashing runs (terminal only; see progress.py)."""
    from .progress import HashProgress

    total = 0
    for planned in files:
        try:
            total += state.checkpoint.resolve(planned.name).stat().st_size
        except Exception:  # noqa: BLE001 - the file's own check reports it
            continue
    progress = HashProgress.for_terminal(total)
    if progress is not None:
        config.add_cleanup(progress.stop)
        config.stash[PROGRESS_KEY] = progress


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under ``-n N`` (``--dist load``), hand out declared files largest first (see scheduling.py)."""
    state = config.stash.get(SESSION_KEY, None)
    if state is None or config.getvalue("dist") != "load":
        return None
    from .scheduling import scheduler_for

    return scheduler_for(config, log, state)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A not_checked skip points at the check that decided it (``-ra``), not at the plugin's item code."""
    report = yield
    if report.skipped and isinstance(item, CheckItem) and isinstance(report.longrepr, tuple) and len(report.longrepr) == 3:
        location = _check_location(item)
        if location is not None:
            report.longrepr = (location[0], location[1], report.longrepr[2])
    return report


def _check_location(item: CheckItem) -> tuple[str, int] | None:
    """Source file and first line of the function behind a check item."""
    import inspect

    from .checks.weight_integrity import check_declared_file

    spec = item.planned.spec
    function = spec.function if spec is not None else check_declared_file
    try:
        return inspect.getsourcefile(function) or "", function.__code__.co_firstlineno
    except (TypeError, AttributeError):
        return None
