"""What the passport card shows, gathered from the passport as read (untrusted, any shape).

Only plain values leave this module; the templates in ``pytest_passport/templates`` lay them
out. Reference frames become thumbnails only when they are regular files inside the
checkpoint, no larger than :data:`MAX_FRAME_BYTES`, and decode as PNG.
"""

from __future__ import annotations

import base64
import io
import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .text import clean, safe

__all__ = ["MAX_FRAME_BYTES", "card_context", "thumbnail"]

MAX_FRAME_BYTES = 8 * 1024 * 1024
MAX_FRAME_PIXELS = 40_000_000
THUMB_SIZE = (240, 180)
FRAMES_PER_CAMERA = 3
FRAMES_DIR = "assets/reference_frames"


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return safe(value)
    return safe(json.dumps(clean(value), ensure_ascii=False))


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def thumbnail(root: Path, rel: str) -> tuple[str | None, str]:
    """A ``data:image/png`` URI of a reference frame, or ``None`` and why not."""
    from ..checkpoint import Checkpoint
    from ..errors import UnsafePathError

    try:
        path = Checkpoint(root).resolve(rel)
    except UnsafePathError as exc:
        return None, f"{safe(rel)}: {exc.reason}"
    try:
        info = os.lstat(path)
    except OSError:
        return None, f"{safe(rel)}: missing"
    if not stat.S_ISREG(info.st_mode):
        return None, f"{safe(rel)}: not a regular file"
    if info.st_size > MAX_FRAME_BYTES:
        return None, f"{safe(rel)}: {info.st_size} bytes, over the {MAX_FRAME_BYTES}-byte limit"
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as fh:
            data = fh.read(MAX_FRAME_BYTES + 1)
    except OSError as exc:
        return None, f"{safe(rel)}: cannot read: {exc.strerror or exc}"
    try:
        from PIL import Image
    except ImportError:
        return None, "thumbnails need pillow (pip install pillow)"
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != "PNG":
                return None, f"{safe(rel)}: not a PNG ({image.format})"
            if image.width * image.height > MAX_FRAME_PIXELS:
                return None, f"{safe(rel)}: {image.width}x{image.height} pixels, too large"
            image.load()
            thumb = image.convert("RGB")
            thumb.thumbnail(THUMB_SIZE)
            out = io.BytesIO()
            thumb.save(out, format="PNG")
    except Exception as exc:  # noqa: BLE001 - any decoder error means "not a usable PNG"
        return None, f"{safe(rel)}: not a readable PNG ({type(exc).__name__})"
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii"), safe(rel)


def _frame_candidates(root: Path, image: Mapping[str, Any]) -> list[str]:
    key = image.get("key")
    found: list[str] = []
    declared = image.get("reference_frame_path")
    if isinstance(declared, str) and declared:
        found.append(declared)
    if isinstance(key, str) and key:
        short = key.rsplit(".", 1)[-1]
        folder = root / FRAMES_DIR
        if folder.is_dir() and not folder.is_symlink():
            names = sorted(p.name for p in folder.iterdir() if p.name.startswith(short + "_") and p.name.endswith(".png"))
            found.extend(f"{FRAMES_DIR}/{name}" for name in names)
    return list(dict.fromkeys(found))[:FRAMES_PER_CAMERA]


def _cameras(root: Path | None, contract: Any) -> list[dict[str, Any]]:
    cameras = []
    for image in _list(_get(contract, "images")):
        if not isinstance(image, Mapping):
            continue
        thumbs, notes = [], []
        for rel in _frame_candidates(root, image) if root is not None else []:
            uri, note = thumbnail(root, rel)
            if uri:
                thumbs.append({"src": uri, "caption": note})
            else:
                notes.append(note)
        rows = [
            (label, _text(image.get(key)))
            for label, key in (
                ("raw shape", "raw_shape"),
                ("resize", "encoder_resize"),
                ("crop", "crop"),
                ("colour order", "color_order"),
                ("layout", "channel_layout"),
                ("dtype / range", "dtype"),
                ("normalization", "normalization"),
                ("mounting", "physical_mounting"),
                ("serial", "camera_serial"),
                ("USB path", "camera_usb_path"),
                ("reference frame sha256", "reference_frame_hash"),
            )
            if image.get(key) not in (None, "", [], {})
        ]
        cameras.append({"key": _text(image.get("key")), "rows": rows, "thumbs": thumbs, "notes": notes or ([] if thumbs else ["no reference frame in the checkpoint"])})
    return cameras


def _layout(block: Any, *, actions: bool) -> dict[str, Any]:
    """Per-dimension rows: name, sub-key, and for actions the delta and norm masks."""
    if not isinstance(block, Mapping):
        return {"present": False}
    delta = _get(block, "delta_dims", "delta_mask")
    norm_mask = block.get("norm_mask")
    rows: list[dict[str, str]] = []
    index = 0
    for sub in _list(block.get("sub_keys")):
        if not isinstance(sub, Mapping):
            continue
        dim = sub.get("dim") if isinstance(sub.get("dim"), int) and not isinstance(sub.get("dim"), bool) else 1
        for j in range(max(0, min(dim, 4096))):
            rows.append(
                {
                    "index": str(index),
                    "name": _text(sub.get("key")) + (f"[{j}]" if dim > 1 else ""),
                    "units": _text(sub.get("units")),
                    "delta": _mask(delta, index),
                    "norm": _mask(norm_mask, index),
                }
            )
            index += 1
    total = block.get("total_dim")
    if not rows and isinstance(total, int) and not isinstance(total, bool):
        rows = [{"index": str(i), "name": f"dim {i} (unnamed)", "units": "", "delta": _mask(delta, i), "norm": _mask(norm_mask, i)} for i in range(min(total, 4096))]
    norm = block.get("normalization") if isinstance(block.get("normalization"), Mapping) else {}
    return {
        "present": True,
        "total_dim": _text(total),
        "horizon": _text(block.get("horizon")) if actions else "",
        "rows": rows,
        "show_masks": actions,
        "absolute_reason": _text(_get(block, "delta_dims", "absolute_dims_reason")),
        "normalization": [(k, _text(v)) for k, v in norm.items() if k != "stats_fingerprint"],
        "fingerprint": _text(norm.get("stats_fingerprint")),
    }


def _mask(mask: Any, index: int) -> str:
    if not isinstance(mask, list) or index >= len(mask):
        return "—"
    return "yes" if mask[index] is True else "no" if mask[index] is False else _text(mask[index])


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _pipeline(steps: Any) -> list[dict[str, str]]:
    items = [s for s in _list(steps) if isinstance(s, Mapping)]
    items.sort(key=lambda s: s.get("order") if isinstance(s.get("order"), int) and not isinstance(s.get("order"), bool) else 1 << 30)
    return [
        {
            "order": _text(s.get("order")),
            "name": _text(s.get("name")),
            "operation": _text(s.get("operation")),
            "applies_to": _text(s.get("applies_to")),
            "direction": _text(s.get("direction")) or "input",
            "parameters": _short(_text(s.get("parameters")), 160),
            "parameters_full": _text(s.get("parameters")),
            "check_type": _text(s.get("check_type")),
        }
        for s in items
    ]


def _rows(block: Any) -> list[tuple[str, str]]:
    if not isinstance(block, Mapping):
        return []
    return [(safe(k), _text(v)) for k, v in block.items() if v not in (None, "", [], {})]


def card_context(document: Any, root: Path | None) -> dict[str, Any]:
    """Everything the card shows about the passport itself (cameras, layouts, pipeline, lineage)."""
    doc = document if isinstance(document, Mapping) else {}
    contract = doc.get("input_contract")
    temporal = _get(contract, "temporal")
    stamps = _get(temporal, "delta_timestamps")
    fingerprints = []
    for side in ("state", "actions"):
        fp = _get(contract, side, "normalization", "stats_fingerprint")
        if fp is not None:
            fingerprints.append((f"input_contract.{side}", _text(_get(contract, side, "normalization", "source")), _text(fp)))
    return {
        "stack": _text(doc.get("stack")),
        "model": _text(_get(doc, "model_identity", "class_name")),
        "generated": _text(doc.get("generated_at")),
        "cameras": _cameras(root, contract),
        "state": _layout(_get(contract, "state"), actions=False),
        "actions": _layout(_get(contract, "actions"), actions=True),
        "temporal": [(k, _text(v)) for k, v in (temporal or {}).items() if k != "delta_timestamps"] if isinstance(temporal, Mapping) else [],
        "timestamps": [(safe(k), _text(v)) for k, v in stamps.items()] if isinstance(stamps, Mapping) else [],
        "pipeline": _pipeline(doc.get("transform_pipeline")),
        "fingerprints": fingerprints,
        "provenance": _rows(doc.get("provenance")),
        "datasets": [_rows(d) for d in _list(_get(contract, "training_datasets")) if isinstance(d, Mapping)],
        "known_issues": [_rows(d) for d in _list(doc.get("known_issues")) if isinstance(d, Mapping)],
    }
