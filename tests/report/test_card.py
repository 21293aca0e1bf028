"""The passport card: one self-contained page, failures first, cameras with their frames."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from pytest_passport.report.card import MAX_FRAME_BYTES, thumbnail

from .conftest import BIN, FRAME_COLOURS, frame_png

EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe0f]")


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.fixture
def card(lerobot_two_cameras: Path, validate, tmp_path: Path) -> dict[str, object]:
    """The HTML and Markdown cards and the JSON report of the unsigned LeRobot checkpoint under --require-signoff."""
    html, md = tmp_path / "card.html", tmp_path / "card.md"
    result = validate(lerobot_two_cameras, "--require-signoff", "--html", html, "--markdown", md, "--json", "-")
    assert result.returncode == 1, result.stderr
    return {"html": html.read_text(encoding="utf-8"), "md": md.read_text(encoding="utf-8"), "json": json.loads(result.stdout), "path": html}


def test_card_shows_cameras_pipeline_and_failure_first(card, lerobot_two_cameras: Path) -> None:
    """Both cameras carry a PNG thumbnail, every pipeline step is drawn in order, the failing row comes first."""
    page = card["html"]
    passport = json.loads((lerobot_two_cameras / "MODEL_PASSPORT.json").read_text())
    assert "DO NOT LOAD" in page and "Not signed" in page
    assert page.count('<img src="data:image/png;base64,') == len(FRAME_COLOURS)
    for cam in FRAME_COLOURS:
        assert f"assets/reference_frames/{cam}_000.png" in page
    pipeline = page[page.index('id="pipeline"'):]
    names = [step["name"] for step in sorted(passport["transform_pipeline"], key=lambda s: s["order"])]
    positions = [pipeline.index(f">{name}<") for name in names]
    assert positions == sorted(positions) and len(names) >= 2
    checks = page[page.index('id="checks"'):]
    rows = re.findall(r'<tr class="row-(\w+)">.*?<code>([^<]+)</code>', checks[: checks.index("</table>")], re.S)
    statuses = [status for status, _ in rows]
    assert len(rows) == len(card["json"]["observations"]) and statuses[0] == "fail"
    assert statuses == sorted(statuses, key=["fail", "soft_signal", "not_checked", "pass"].index)
    assert ("fail", "signoff_present") in rows
    assert not EMOJI.search(page) and not EMOJI.search(card["md"])
    assert "<script" not in page and "http://" not in page and "https://" not in page


def test_markdown_card_matches(card) -> None:
    """The Markdown card has the same verdict, failing row first, cameras, pipeline and coverage counts."""
    md, data = card["md"], card["json"]
    rows = [line for line in md.splitlines() if line.startswith("| **")]
    assert rows[0].startswith("| **FAIL** |") and len(rows) == len(data["observations"])
    fails = [row for row in rows if row.startswith("| **FAIL** |")]
    assert rows[: len(fails)] == fails and any("`signoff_present`" in row for row in fails)
    assert "**DO NOT LOAD**" in md
    assert "`observation.images.front`: 1 reference frame(s)" in md
    assert "`observation.images.wrist`: 1 reference frame(s)" in md
    assert f"covered {data['coverage_summary']['covered']};" in md


def test_card_in_headless_chromium(card, tmp_path: Path) -> None:
    """Chromium renders the card: the verdict banner in the failure colour and both thumbnails visible."""
    browser = _chromium()
    if browser is None:
        pytest.skip("chromium is not installed (apt-get install chromium); .ci/run installs it")
    from PIL import Image

    shot = tmp_path / "passport_card.png"
    subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--force-device-scale-factor=1",
         f"--screenshot={shot}", "--window-size=1280,4200", card["path"].as_uri()],
        capture_output=True, timeout=120, check=False, env={**os.environ, "HOME": str(tmp_path)},
    )
    assert shot.is_file(), "chromium wrote no screenshot"
    print(f"passport card screenshot: {shot}")
    image = Image.open(shot).convert("RGB")
    pixels = np.asarray(image).astype(int)

    def count(colour: tuple[int, int, int], rows: range | None = None) -> int:
        selected = pixels if rows is None else pixels[rows.start : rows.stop]
        return int((np.abs(selected - np.array(colour)).max(axis=-1) <= 8).sum())

    assert count((0xB4, 0x23, 0x18), range(0, 120)) > 200  # DO NOT LOAD banner text and border
    for cam, colour in FRAME_COLOURS.items():
        assert count(colour) > 5000, f"{cam} thumbnail not visible"


def test_thumbnail_refuses_unsafe_files(tmp_path: Path) -> None:
    """Reference frames outside the root, through symlinks, not PNG, or oversize never become thumbnails."""
    root = tmp_path / "ckpt"
    root.mkdir()
    outside = tmp_path / "secret.png"
    outside.write_bytes(frame_png((1, 2, 3)))
    (root / "link.png").symlink_to(outside)
    (root / "fake.png").write_bytes(b"GIF89a not a png")
    from PIL import Image

    Image.new("RGB", (8, 8)).save(root / "frame.jpg", format="JPEG")
    (root / "big.png").write_bytes(b"\x89PNG" + b"\0" * (MAX_FRAME_BYTES + 1))
    (root / "ok.png").write_bytes(frame_png((9, 9, 9)))
    assert thumbnail(root, "../secret.png")[0] is None
    assert thumbnail(root, "link.png")[0] is None
    assert "not a readable PNG" in thumbnail(root, "fake.png")[1]
    assert "not a PNG (JPEG)" in thumbnail(root, "frame.jpg")[1]
    assert "over the" in thumbnail(root, "big.png")[1]
    assert thumbnail(root, "missing.png") == (None, "missing.png: missing")
    assert thumbnail(root, "ok.png")[0].startswith("data:image/png;base64,")


def test_reports_survive_lone_surrogates(clean_checkpoint, validate, tmp_path: Path) -> None:
    """Names carrying lone surrogates (undecodable bytes) come out escaped in every report, never a UnicodeEncodeError."""
    text = (clean_checkpoint.root / "MODEL_PASSPORT.json").read_text()
    text = text.replace('"observation.images.front"', '"observation.images.fr\\udcffont"', 1)
    (clean_checkpoint.root / "MODEL_PASSPORT.json").write_text(text)
    out = {kind: tmp_path / f"r.{kind}" for kind in ("json", "html", "md")}
    result = validate(clean_checkpoint.root, "--json", out["json"], "--html", out["html"], "--markdown", out["md"])
    assert "Traceback" not in result.stderr and result.returncode in (0, 1), result.stderr
    for kind in ("html", "md"):
        assert "fr\\udcffont" in out[kind].read_text(encoding="utf-8")
    report = json.loads(out["json"].read_text(encoding="utf-8"))
    assert any("fr\\udcffont" in row["path"] or "fr\\udcffont" in str(row["checks"]) for row in report["coverage"]) or any(
        "fr\\udcffont" in o["message"] for o in report["observations"]
    )


def test_signed_card_shows_signer_reason_and_accepted_signals(clean_checkpoint, validate, tmp_path: Path) -> None:
    """A signed checkpoint's card names the signer and reason at the top and pairs each soft signal with that reason."""
    clean_checkpoint.passport.provenance.deployment_repo_commit = None  # a soft signal that signing must accept
    clean_checkpoint.write_passport()
    reason = "no deployment binding: bench checkpoint for rig 3"
    signed = subprocess.run([str(BIN / "sign-checkpoint"), str(clean_checkpoint.root), "--reason", reason],
                            capture_output=True, text=True, timeout=120)
    assert signed.returncode == 0, signed.stderr
    html = tmp_path / "card.html"
    assert validate(clean_checkpoint.root, "--require-signoff", "--html", html).returncode == 0
    page = html.read_text(encoding="utf-8")
    banner = page[: page.index('id="checks"')]
    assert "LOADABLE" in banner and "<b>Signed</b> by pytest-passport" in banner and reason in banner
    soft = page[page.index("Soft signals and the reason"):page.index("<h2>Cameras")]
    assert "<code>deployment_repo_commit</code>" in soft and reason in soft and "NOT ACCEPTED" not in soft
