"""Hugging Face style folders: ``config.json`` with ``architectures``/``model_type``, weights, tokenizer.

Identity is the ``architectures`` list (resolved through ``transformers`` by validators);
the weight files are the shards named by ``model.safetensors.index.json`` when present (every
shard must exist), else every weight file in the folder. Tokenizer files are hashed like any
other file; ``tokenizer_config.json`` also fills ``input_contract.language``.
"""

from __future__ import annotations

from ..checkpoint import Checkpoint
from ..errors import UnsafePathError
from ..schema import InputContract, LanguageSpec, ModelIdentity
from ._common import ConfigReader, ExtractionError, LayoutResult, Notes, is_int, read_object

INDEX_FILES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")
TOKENIZER_CONFIG = "tokenizer_config.json"
#: ``model_max_length`` above this is transformers' "no limit" sentinel, not a real limit.
MAX_REAL_SEQUENCE_LENGTH = 10_000_000


def is_hf_config(data: dict[str, object]) -> bool:
    return "architectures" in data or "model_type" in data


def sharded_weights(checkpoint: Checkpoint, index_file: str) -> list[str]:
    """Shards named by an index's ``weight_map``; a missing or escaping shard refuses."""
    index = read_object(checkpoint, index_file)
    weight_map = index.string_map("weight_map")
    if not weight_map:
        raise index.fail("weight_map", "required object is missing or empty")
    base = index_file.rsplit("/", 1)[0] + "/" if "/" in index_file else ""
    shards = sorted(set(weight_map.values()))
    for shard in shards:
        try:
            ok = checkpoint.resolve(base + shard).is_file()
        except UnsafePathError as exc:
            raise index.fail("weight_map", f"shard {shard!r}: {exc.reason}") from None
        if not ok:
            raise index.fail("weight_map", f"shard {shard} is missing")
    return [base + shard for shard in shards]


def model_weights(checkpoint: Checkpoint) -> list[str]:
    for index_file in INDEX_FILES:
        if index_file in checkpoint.files:
            return sharded_weights(checkpoint, index_file)
    return list(checkpoint.weight_files)


def build_language(checkpoint: Checkpoint) -> LanguageSpec | None:
    if TOKENIZER_CONFIG not in checkpoint.files:
        return None
    tokenizer = read_object(checkpoint, TOKENIZER_CONFIG)
    length = tokenizer.raw("model_max_length")
    real_length = length if is_int(length) and 0 < length <= MAX_REAL_SEQUENCE_LENGTH else None
    name = tokenizer.raw("name_or_path")
    return LanguageSpec(tokenizer_class=tokenizer.string("tokenizer_class"), max_sequence_length=real_length,
                        tokenizer_version=name if isinstance(name, str) and name else None)


def extract(checkpoint: Checkpoint, reader: ConfigReader, notes: Notes) -> LayoutResult:
    architectures = reader.string_list("architectures")
    version = reader.string("transformers_version")
    identity = ModelIdentity(
        class_name=architectures[0] if architectures else None,
        config_architectures=architectures or None,
        library_versions={"transformers": version} if version else None,
    )
    if not architectures:
        notes.leave("model_identity.config_architectures", "human: config.json has no architectures list")
    weights = model_weights(checkpoint)
    if not weights:
        raise ExtractionError(f"{checkpoint.root}: no weight files (*.safetensors, *.bin) beside config.json")
    return LayoutResult(
        layout="huggingface",
        stack=reader.string("model_type") or "huggingface",
        input_contract=InputContract(language=build_language(checkpoint)),
        model_identity=identity,
        model_weight_files=weights,
    )
