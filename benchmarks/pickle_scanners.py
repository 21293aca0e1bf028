"""Compare static pickle scanners on the corpus of ``pickle_corpus.py``.

Corpus: ``tests/authenticity/pickle_corpus.py``. Usage (a scratch venv; the scanners are not project dependencies)::

    python -m venv /tmp/scanners
    /tmp/scanners/bin/pip install -c constraints.txt torch==2.13.0 picklescan fickling modelscan joblib numpy
    /tmp/scanners/bin/python benchmarks/pickle_scanners.py

Prints, per scanner, how many malicious files it flags (detection) and how many benign files
it flags (false alarms), the malicious files it misses, and the time taken. "Flags" means:
``pytest_passport.pickle_scan`` reports a dangerous global; picklescan reports
``issues_count > 0`` (or a scan error); fickling's severity is above LIKELY_SAFE (or it errs);
modelscan reports an issue (or an error) for the file. No file is ever unpickled; the marker
file each payload would create is checked at the end.
"""

from __future__ import annotations

import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "authenticity"))

import pickle_corpus  # noqa: E402


def ours(path: Path) -> bool:
    from pytest_passport.pickle_scan import scan_file

    return bool(scan_file(path).dangerous)


def picklescan(path: Path) -> bool:
    from picklescan.scanner import scan_file_path

    result = scan_file_path(str(path))
    return result.issues_count > 0 or bool(result.scan_err)


def fickling(path: Path) -> bool:
    import fickling as fk

    if zipfile.is_zipfile(path):
        results = fk.scan_zip_archive(str(path), graceful=True)
        return any(not r.is_safe or r.errors for r in results.values())
    result = fk.scan_file(str(path), graceful=True)
    return not result.is_safe or bool(result.errors)


def modelscan(path: Path) -> bool:
    import logging

    logging.disable(logging.CRITICAL)
    from modelscan.modelscan import ModelScan

    report = ModelScan().scan(path)
    return bool(report.get("issues")) or bool(report.get("errors"))


SCANNERS: dict[str, Callable[[Path], bool]] = {
    "pytest_passport.pickle_scan": ours,
    "picklescan": picklescan,
    "fickling": fickling,
    "modelscan": modelscan,
}


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        marker = Path(tmp) / "MARKER"
        corpus = pickle_corpus.build(Path(tmp) / "corpus", marker)
        benign, malicious = corpus["benign"], corpus["malicious"]
        print(f"corpus: {len(benign)} benign, {len(malicious)} malicious files")
        print(f"{'scanner':<30}{'malicious flagged':>19}{'benign flagged':>16}{'seconds':>9}")
        misses: dict[str, list[str]] = {}
        alarms: dict[str, list[str]] = {}
        for name, scan in SCANNERS.items():
            start = time.perf_counter()
            try:
                hit = sum(_safe(scan, p) for p in malicious)
                false = sum(_safe(scan, p) for p in benign)
            except ImportError as exc:
                print(f"{name:<30} not installed ({exc})")
                continue
            elapsed = time.perf_counter() - start
            misses[name] = [p.name for p in malicious if not _safe(scan, p)]
            alarms[name] = [p.name for p in benign if _safe(scan, p)]
            print(f"{name:<30}{hit:>8}/{len(malicious):<10}{false:>6}/{len(benign):<9}{elapsed:>9.2f}")
        for name, missed in misses.items():
            if missed:
                print(f"{name} misses: {', '.join(missed)}")
        for name, flagged in alarms.items():
            if flagged:
                print(f"{name} false alarms: {', '.join(flagged)}")
        print("marker file created:", marker.exists())
        return 1 if marker.exists() else 0


def _safe(scan: Callable[[Path], bool], path: Path) -> bool:
    try:
        return scan(path)
    except ImportError:
        raise
    except Exception:  # noqa: BLE001 - a scanner crash counts as a flag (it refused the file)
        return True


if __name__ == "__main__":
    sys.exit(main())
