"""Metta CheckpointPolicy bundles: ``policy_spec.json`` plus the weights it names.

``class_path`` is what Metta's loader imports, so it is the model identity; ``init_kwargs``
(with ``architecture_spec``, the string that rebuilds the network) is recorded beside it;
``data_path`` names the weight file. Run name and epoch come from the bundle directory's
name (``<run>:v<epoch>``), the way Metta's checkpoint manager parses it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from ..checkpoint import Checkpoint
from ..errors import UnsafePathError
from ..schema import InputContract, ModelIdentity
from ._common import ConfigReader, ExtractionError, LayoutResult, Notes, read_object

SPEC_FILE = "policy_spec.json"
#: ``pkg.module.Class``: dotted identifiers, at least one dot.
CLASS_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
EPOCH = re.compile(r"^(?P<run>.+):v(?P<epoch>\d+)$")


def is_metta_bundle(checkpoint: Checkpoint) -> bool:
    return SPEC_FILE in checkpoint.files


def read_spec(checkpoint: Checkpoint) -> ConfigReader:
    return read_object(checkpoint, SPEC_FILE)


def _identity(spec: ConfigReader) -> ModelIdentity:
    class_path = spec.string("class_path")
    if not class_path:
        raise spec.fail("class_path", "required string is missing")
    if not CLASS_PATH.match(class_path):
        raise spec.fail("class_path", f"{class_path!r} is not a dotted module.Class path")
    module, name = class_path.rsplit(".", 1)
    extra: dict[str, Any] = {}
    init_kwargs = spec.obj("init_kwargs")
    if init_kwargs is not None:
        if (architecture := init_kwargs.string("architecture_spec")) is not None:
            extra["architecture_spec"] = architecture
        extra["init_kwargs"] = dict(init_kwargs.data)
    if (setup := spec.string("setup_script")) is not None:
        extra["setup_script"] = setup
    return ModelIdentity(class_name=name, class_module=module, extra=extra)


def _weights(checkpoint: Checkpoint, spec: ConfigReader) -> list[str]:
    data_path = spec.string("data_path")
    if data_path is None:
        return list(checkpoint.weight_files)
    try:
        path = checkpoint.resolve(data_path)
    except UnsafePathError as exc:
        raise spec.fail("data_path", f"{data_path!r}: {exc.reason}") from None
    if not path.is_file():
        raise spec.fail("data_path", f"{data_path} is not a file in the bundle")
    return [checkpoint.relpath(path)]


def run_and_epoch(checkpoint: Checkpoint) -> dict[str, Any]:
    """``{"metta_run", "metta_epoch"}`` parsed from ``<run>:v<epoch>`` (``%3A`` accepted)."""
    # The name as given (not symlink-resolved), so "." still yields the bundle's own name.
    name = Path(os.path.abspath(checkpoint.given)).name.replace("%3A", ":").replace("%3a", ":")
    if name.endswith(".zip"):
        name = name[: -len(".zip")]
    match = EPOCH.match(name)
    return {"metta_run": match["run"], "metta_epoch": int(match["epoch"])} if match else {}


def extract(checkpoint: Checkpoint, notes: Notes) -> LayoutResult:
    spec = read_spec(checkpoint)
    identity = _identity(spec)
    weights = _weights(checkpoint, spec)
    if not weights:
        raise ExtractionError(f"{SPEC_FILE}: no data_path and no weight file in the bundle")
    contract = InputContract()
    interface = spec.raw("policy_env_interface")
    if interface is not None:
        contract.extra["policy_env_interface"] = interface
    else:
        notes.leave("input_contract", "phase 2 or human: policy_spec.json has no policy_env_interface "
                    "(observation/action layout)")
    return LayoutResult(
        layout="metta",
        stack="metta",
        input_contract=contract,
        model_identity=identity,
        model_weight_files=weights,
        config_snapshot=SPEC_FILE,
        provenance_extra=run_and_epoch(checkpoint),
    )
