"""Passport extraction.

Phase 1 (:mod:`.static`) reads files on disk and git state only: no torch, no GPU, no network.
Phase 2 (a ``dynamic`` module, when present) loads the model and splices runtime facts in.
"""

from __future__ import annotations

from ._common import ExtractionError, Notes
from .static import DatasetRef, Extraction, StaticOptions, extract_static

__all__ = ["DatasetRef", "Extraction", "ExtractionError", "Notes", "StaticOptions", "extract_static"]
