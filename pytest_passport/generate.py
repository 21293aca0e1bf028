"""``generate-passport``: write a checkpoint's ``MODEL_PASSPORT.json`` from its files (Phase 1).

::

    generate-passport CKPT [--target-repo DIR] [--training-repo DIR]
                           [--dataset-repo ID[@REV]]... [--loader-class CLS]...
                           [--dataset-path DIR] [--run-log PATH_OR_URL] [--parent URI]
                           [--output PATH]

``--parent URI`` names the checkpoint this one resumes or fine-tunes (a directory, a ``.zip``,
``file://``, ``:latest``, ``s3://`` or ``hf://``); its own passport's SHA-256, location and
epoch are recorded in ``provenance.parent_checkpoint`` / ``parent_checkpoint_uri`` /
``parent_epoch``.

Exit status: 0 written; 1 refused (dirty ``--target-repo``, missing or invalid config, missing
checkpoint, unreachable ``--parent`` or one without a passport), with ``error: …`` on stderr and
no file written; 2 usage error. Output is byte-identical for identical inputs;
``SOURCE_DATE_EPOCH`` pins ``generated_at``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TextIO

from ._cliutil import add_version, one_line
from .checks._base import REPO
from .errors import BundleError, CheckpointNotFoundError, DocumentError, PassportError, ascii_path
from .extract import (
    DatasetRef,
    Extraction,
    ExtractionError,
    StaticOptions,
    extract_static,
)
from .extract._common import Notes
from .extract.static import ParentRef, open_checkpoint
from .extract.summary import unfilled_fields
from .hashing import sha256_bytes
from .schema import (
    PASSPORT_FILENAME,
    SIGNOFF_FILENAME,
    Passport,
    dumps_passport,
    load_passport_bytes,
    read_signoff,
    write_atomic,
)

EXIT_WRITTEN, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
#: Module and function of Phase 2: ``splice(passport, checkpoint, device, dataset_path=None) -> Passport``.
DYNAMIC_MODULE, DYNAMIC_FUNCTION = "pytest_passport.extract.dynamic", "splice"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="generate-passport",
        description="Write CKPT/MODEL_PASSPORT.json from the checkpoint's files and git state (no torch, no GPU).",
    )
    add_version(parser)
    parser.add_argument("checkpoint", metavar="CKPT",
                        help="checkpoint: a directory, a .zip bundle, file://…, DIR/:latest; s3://… and hf://… are "
                             "read-only (give --output)")
    parser.add_argument("--target-repo", metavar="DIR", type=Path,
                        help="deployment repo recorded as provenance.deployment_repo(_commit); refused when dirty")
    parser.add_argument("--training-repo", metavar="DIR", type=Path,
                        help="training code checkout recorded as provenance.training_repo(_commit)")
    parser.add_argument("--dataset-repo", metavar="ID[@REV]", action="append", default=[], dest="dataset_repos",
                        help="training dataset ORG/NAME, optionally @COMMIT (repeatable)")
    parser.add_argument("--loader-class", metavar="CLS", action="append", default=[], dest="loader_classes",
                        help="dataset loader class: one for all datasets, or one per --dataset-repo in order")
    parser.add_argument("--dataset-path", metavar="DIR", type=Path,
                        help="local LeRobotDataset: feature layout and fps (temporal.control_rate_hz); with --dynamic "
                             "also the reference test vector (episode 0, frames 0-9)")
    parser.add_argument("--run-log", metavar="PATH_OR_URL",
                        help="training run log: a .md file inside the checkpoint or an http(s) URL")
    parser.add_argument("--parent", metavar="URI",
                        help="checkpoint this one resumes or fine-tunes (dir, .zip, file://, :latest, s3://, hf://); "
                             "its passport's sha256, URI and epoch go into provenance")
    parser.add_argument("--output", "--out", "-o", metavar="PATH", type=Path, dest="output",
                        help=f"where to write (default CKPT/{PASSPORT_FILENAME}); --out is the reference spelling")
    parser.add_argument("--dynamic", action="store_true",
                        help="also run Phase 2 (loads the model) and splice it in; needs the Phase-2 extractor installed")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                        help="device for --dynamic (default auto: cuda when available, else cpu)")
    return parser


def parse_datasets(parser: argparse.ArgumentParser, repos: Sequence[str], loaders: Sequence[str]) -> tuple[DatasetRef, ...]:
    """Pair ``--dataset-repo`` with ``--loader-class``: one loader for all, or one per dataset in order."""
    if loaders and not repos:
        parser.error("--loader-class needs at least one --dataset-repo")
    if len(loaders) > 1 and len(loaders) != len(repos):
        parser.error(f"{len(loaders)} --loader-class values for {len(repos)} --dataset-repo values: "
                     "give one loader for all datasets or exactly one per dataset")
    refs = []
    for i, value in enumerate(repos):
        repo, at, revision = value.partition("@")
        if not REPO.match(repo):
            parser.error(f"--dataset-repo {value!r}: expected ORG/NAME[@REV]")
        if at and not revision:
            parser.error(f"--dataset-repo {value!r}: empty revision after '@'")
        loader = loaders[i] if len(loaders) > 1 else (loaders[0] if loaders else None)
        refs.append(DatasetRef(repo=repo, revision=revision or None, loader_class=loader))
    return tuple(refs)


def generated_at(environ: Mapping[str, str]) -> str:
    """``SOURCE_DATE_EPOCH`` (reproducible builds convention) as UTC, else now."""
    epoch = environ.get("SOURCE_DATE_EPOCH")
    if epoch is None or epoch == "":
        return datetime.now(timezone.utc).strftime(TIMESTAMP_FORMAT)
    try:
        moment = datetime.fromtimestamp(int(epoch), tz=timezone.utc)
    except (ValueError, OverflowError, OSError):
        raise ExtractionError(f"SOURCE_DATE_EPOCH={epoch!r}: expected a Unix timestamp in seconds") from None
    return moment.strftime(TIMESTAMP_FORMAT)


def _parent_stack(raw: bytes) -> str | None:
    """The parent passport's ``stack`` when it is readable JSON, else ``None``."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    stack = data.get("stack") if isinstance(data, dict) else None
    return stack if isinstance(stack, str) and stack else None


def read_parent(uri: str) -> ParentRef:
    """Resolve ``--parent URI`` and read what provenance records about it from its own passport."""
    # lazy: bundle pulls in zip/remote machinery
    from .bundle import latest_base, resolve

    try:
        resolved = resolve(uri)
    except (CheckpointNotFoundError, BundleError) as exc:
        raise ExtractionError(f"--parent {uri}: {exc}") from None
    path = resolved.root / PASSPORT_FILENAME
    if not path.is_file():
        raise ExtractionError(f"--parent {uri}: no {PASSPORT_FILENAME} in the parent")
    raw = path.read_bytes()
    pinned = resolved.location if latest_base(uri) is not None else uri
    if resolved.run and resolved.epoch is not None:
        description = f"{resolved.run}:v{resolved.epoch}"
    else:
        description = _parent_stack(raw)
    return ParentRef(uri=pinned, passport_sha256=sha256_bytes(raw), epoch=resolved.epoch, description=description)


def output_path(checkpoint: Path, given: Path | None) -> Path:
    output = given if given is not None else checkpoint / PASSPORT_FILENAME
    if not output.parent.is_dir():
        raise ExtractionError(f"--output {output}: directory {output.parent} does not exist")
    if output.is_dir():
        raise ExtractionError(f"--output {output}: is a directory")
    return output


def undeclared(checkpoint: Path, output: Path) -> tuple[str, ...]:
    """The output file, when it lies inside the checkpoint, must not hash itself."""
    root = Path(os.path.realpath(checkpoint))
    target = Path(os.path.realpath(output))
    return (target.relative_to(root).as_posix(),) if root in target.parents else ()


def run_dynamic(passport: Passport, checkpoint: Path, device: str, dataset_path: Path | None = None) -> Passport:
    try:
        module = importlib.import_module(DYNAMIC_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != DYNAMIC_MODULE:
            raise ExtractionError(f"--dynamic: {exc}") from None
        raise ExtractionError("--dynamic: Phase 2 extraction is not available in this installation") from None
    splice = getattr(module, DYNAMIC_FUNCTION, None)
    if splice is None:
        raise ExtractionError(f"--dynamic: {DYNAMIC_MODULE} has no {DYNAMIC_FUNCTION}()")
    return splice(passport, checkpoint, device, dataset_path=dataset_path)


def checked_text(passport: Passport, output: Path) -> str:
    """The passport's bytes, after proving they load back cleanly (a validator will read them)."""
    text = dumps_passport(passport)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a file name that is not UTF-8 (os.fsdecode kept its bytes as surrogates)
        start = text.rfind('"', 0, exc.start) + 1
        value = text[start:text.find('"', exc.end)]
        raise ExtractionError(f"{ascii_path(value)}: not valid UTF-8, so a passport cannot record it; rename the file") from None
    try:
        load_passport_bytes(data, output)
    except DocumentError as exc:  # would be a defect of this tool, not of the checkpoint
        raise ExtractionError(f"generated passport does not load back: {exc}") from None
    return text


def signoff_covers(checkpoint: Path, text: str) -> bool:
    """Whether an existing SIGNOFF.json (if any) still names these exact passport bytes."""
    path = checkpoint / SIGNOFF_FILENAME
    if not path.exists():
        return True
    try:
        signoff = read_signoff(path)
    except DocumentError:
        return False
    return signoff.artifact_sha256(PASSPORT_FILENAME) == sha256_bytes(text.encode("utf-8"))


def print_summary(extraction: Extraction, output: Path, replaced: bool, out: TextIO) -> None:
    passport = extraction.passport
    contract = passport.input_contract
    provenance = passport.provenance
    images = len(contract.images or []) if contract else 0
    datasets = len(contract.training_datasets or []) if contract else 0
    print(f"Wrote {output}" + (" (replaced the previous passport)" if replaced else ""), file=out)
    print(f"  layout: {extraction.layout} (stack {passport.stack})", file=out)
    print(f"  files hashed: {len(extraction.digests.files)} ({extraction.digests.total_bytes} bytes)", file=out)
    print(f"  images: {images}, training datasets: {datasets}", file=out)
    for label, value in (("training commit", provenance.training_repo_commit if provenance else None),
                         ("deployment commit", provenance.deployment_repo_commit if provenance else None),
                         ("passport tool commit", (provenance.passport_creation_repo_commit
                                                   or provenance.extra.get("passport_creation_tool_version"))
                          if provenance else None)):
        print(f"  {label}: {value or 'not set'}", file=out)
    unfilled = extraction.notes.unfilled
    print(f"Left null ({len(unfilled)} fields) and who fills them:", file=out)
    width = max((len(path) for path, _ in unfilled), default=0)
    for path, filler in unfilled:
        print(f"  {path.ljust(width)}  {filler}", file=out)


def generate(ns: argparse.Namespace, datasets: tuple[DatasetRef, ...]) -> int:
    checkpoint = Path(ns.checkpoint)
    open_checkpoint(checkpoint)  # a missing checkpoint is the first thing to report
    output = output_path(checkpoint, ns.output)
    options = StaticOptions(
        generated_at=generated_at(os.environ),
        target_repo=ns.target_repo,
        training_repo=ns.training_repo,
        datasets=datasets,
        dataset_path=ns.dataset_path,
        run_log=ns.run_log,
        undeclared=undeclared(checkpoint, output),
        parent=read_parent(ns.parent) if ns.parent else None,
    )
    extraction = extract_static(checkpoint, options)
    if ns.dynamic:
        extraction.passport = run_dynamic(extraction.passport, checkpoint, ns.device, ns.dataset_path)
        still_open = {path for path, _ in unfilled_fields(extraction.passport, Notes())}
        extraction.notes.unfilled = [(path, who) for path, who in extraction.notes.unfilled
                                     if not who.startswith("phase 2") and (path in still_open or path.startswith("provenance"))
                                     and not (path.startswith("model_identity.class") and extraction.passport.model_identity
                                              and extraction.passport.model_identity.class_name)]
    text = checked_text(extraction.passport, output)
    replaced = output.exists()
    write_atomic(output, text)
    for warning in extraction.notes.warnings:
        _err(f"warning: {warning}")
    if output.resolve() == (checkpoint / PASSPORT_FILENAME).resolve() and not signoff_covers(checkpoint, text):
        _err(f"warning: {SIGNOFF_FILENAME} does not cover the new passport; run sign-checkpoint again")
    print_summary(extraction, output, replaced, sys.stdout)
    return EXIT_WRITTEN


def generate_in_zip(ns: argparse.Namespace, datasets: tuple[DatasetRef, ...]) -> int:
    """Generate inside a zip bundle: a private copy gets the passport, then the zip is rewritten."""
    from .bundle import edit_zip

    zip_path = Path(ns.checkpoint)
    with edit_zip(zip_path, names=(PASSPORT_FILENAME,)) as edit:
        status = generate(argparse.Namespace(**{**vars(ns), "checkpoint": str(edit.root)}), datasets)
        edit.save = status == EXIT_WRITTEN
    if edit.save:
        print(f"rewrote {zip_path} with {PASSPORT_FILENAME} at its root")
    return status


def local_target(given: str, output: Path | None) -> tuple[str, bool]:
    """The local directory or zip to read for every checkpoint form validate-checkpoint accepts.

    ``file://`` and ``DIR/:latest`` name local, writable checkpoints. ``s3://`` and ``hf://`` are
    read-only: they are fetched (into the private cache) only when ``--output`` says where the
    passport goes instead. Returns ``(path, is_zip)``.
    """
    from .bundle import latest_base, resolve, uri_scheme

    scheme = uri_scheme(given)
    if scheme in ("s3", "hf"):
        if output is None:
            raise PassportError(
                f"{given}: {scheme}:// checkpoints are read-only; pass --output FILE to write the passport "
                "elsewhere, or download the checkpoint and run generate-passport on the local copy"
            )
        return str(resolve(given).root), False
    if scheme == "file" or latest_base(given) is not None:
        resolved = resolve(given)
        if resolved.zip_path is not None:
            return str(resolved.zip_path), True
        return str(resolved.root), False
    return given, given.endswith(".zip") and Path(given).is_file()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        ns = parser.parse_args(argv)
        datasets = parse_datasets(parser, ns.dataset_repos, ns.loader_classes)
    except SystemExit as exc:  # usage errors (2) and --help (0) return instead of exiting the caller
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    from .bundle import uri_scheme

    if uri_scheme(str(ns.checkpoint)) in ("s3", "hf") and ns.output is None:
        _err(f"error: {ns.checkpoint}: remote checkpoints are read-only here; pass --output FILE to write the "
             "passport elsewhere, or download the checkpoint and generate on the local copy")
        return EXIT_USAGE
    try:
        ns.checkpoint, is_zip = local_target(str(ns.checkpoint), ns.output)
        if is_zip and ns.output is None:
            return generate_in_zip(ns, datasets)
        return generate(ns, datasets)
    except (ExtractionError, PassportError) as exc:
        _err(f"error: {exc}")
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        _err(f"error: {where}{exc.strerror or exc}")
    except KeyboardInterrupt:
        _err("error: interrupted")
        return 130
    except Exception as exc:  # noqa: BLE001 - the contract is one error line, never a traceback
        _err(f"error: internal error: {type(exc).__name__}: {exc}")
    return EXIT_REFUSED


def _err(line: str) -> None:
    """One ``error:``/``warning:`` line on stderr; file names in it are user-controlled, so it is escaped."""
    print(one_line(line), file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
