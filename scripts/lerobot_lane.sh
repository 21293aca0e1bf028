#!/usr/bin/env bash
# LeRobot lane: the LeRobot runtime against real lerobot, end to end on CPU.
#
# lerobot 0.6.1 needs Python >= 3.12; 0.4.4 is the last release for Python 3.11, so the lane
# installs lerobot 0.4.4 --no-deps beside the local CPU torch (constraints.txt) with its runtime
# deps added by hand. PyPI's torchvision is a CUDA build whose ops are missing beside CPU torch;
# scripts/lerobot_sitecustomize.py declares their schemas so it imports. lerobot 0.4.4 cannot read
# the 0.6.1 fixtures (their configs carry `pretrained_revision`), so the lane writes act and
# diffusion checkpoints with the lerobot it runs (scripts/lerobot_checkpoints.py, features of the
# synthetic_arm dataset), then: generate-passport --dynamic --dataset-path -> sign-checkpoint ->
# pytest --checkpoint -m gpu (serial and -n 2) -> validate-checkpoint --require-signoff.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv-lerobot}"
# TYPES are signed end to end; GPU_ONLY types (none by default) run generate --dynamic and the gpu items only.
TYPES="${LEROBOT_TYPES:-act diffusion}"
GPU_ONLY="${LEROBOT_GPU_ONLY_TYPES:-}"
DATASET="${DATASET:-}"
for candidate in tests/fixtures/lerobot-policies/dataset/synthetic_arm ../shared/fixtures/lerobot-policies/dataset/synthetic_arm; do
    [ -n "$DATASET" ] || { [ -f "$candidate/meta/info.json" ] && DATASET="$candidate"; } || true
done
[ -n "$DATASET" ] || { echo "lerobot lane: synthetic_arm dataset not found" >&2; exit 1; }
PY="$VENV/bin/python"
PIP=("$PY" -m pip install -q --disable-pip-version-check -c constraints.txt)
[ -x "$PY" ] || "${PYTHON:-python3}" -m venv "$VENV"
if ! "$PY" -c "import lerobot" 2>/dev/null; then
    "${PIP[@]}" -e '.[torch]'
    "${PIP[@]}" --no-deps "lerobot==0.4.4" "torchvision==0.28.*"
    "${PIP[@]}" "datasets>=4,<5" "diffusers>=0.27.2,<0.36" "huggingface-hub>=0.34.2,<0.36" "accelerate>=1.10,<2" \
        "einops>=0.8,<0.9" "draccus==0.10.0" "gymnasium>=1.1.1,<2" "deepdiff>=7,<9" "termcolor>=2.4" "av>=15,<16" \
        jsonlines "packaging>=24.2,<26" "imageio[ffmpeg]>=2.34,<3" "pyserial>=3.5,<4" "pynput>=1.7.7,<1.9" \
        "opencv-python-headless>=4.9,<4.13"
    cp scripts/lerobot_sitecustomize.py "$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/sitecustomize.py"
fi
BIN="$VENV/bin"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
git init -q "$WORK/training-repo"
git -C "$WORK/training-repo" -c user.email=ci@example.org -c user.name=ci commit -q --allow-empty -m "training code"
"$PY" scripts/lerobot_checkpoints.py "$DATASET" "$WORK" $TYPES $GPU_ONLY
for kind in $GPU_ONLY; do
    ckpt="$WORK/$kind"
    echo "== lerobot lane (gpu items only): $kind"
    "$BIN/generate-passport" "$ckpt" --dynamic --device cpu --dataset-path "$DATASET" >/dev/null
    grep -q '"resolved_via": "lerobot.policies.factory.get_policy_class"' "$ckpt/MODEL_PASSPORT.json"
    "$PY" -m pytest -p no:cacheprovider -q --checkpoint="$ckpt" -m gpu -n 2 | tail -1
done
for kind in $TYPES; do
    ckpt="$WORK/$kind"
    echo "== lerobot lane: $kind"
    "$BIN/generate-passport" "$ckpt" --dynamic --device cpu --dataset-path "$DATASET" \
        --training-repo "$WORK/training-repo" --run-log https://example.org/runs/lerobot-lane --dataset-repo local/synthetic_arm >/dev/null
    grep -q '"resolved_via": "lerobot.policies.factory.get_policy_class"' "$ckpt/MODEL_PASSPORT.json"
    "$BIN/sign-checkpoint" "$ckpt" --reason "lerobot lane: random-init $kind, soft signals reviewed" | tail -1
    "$PY" -m pytest -p no:cacheprovider -q --checkpoint="$ckpt" -m gpu | tail -1
    "$PY" -m pytest -p no:cacheprovider -q --checkpoint="$ckpt" -m gpu -n 2 | tail -1
    "$BIN/validate-checkpoint" "$ckpt" --require-signoff | tail -1
done
