#!/usr/bin/env bash
# LeRobot lane: the LeRobot runtime against real lerobot 0.6.1, end to end on the CPU.
#
# lerobot 0.6.1 needs Python >= 3.12 and pins torch < 2.12. The lane makes a Python 3.12 venv,
# installs torch 2.14.1 + torchvision 0.29.1 (scripts/lerobot-constraints.txt: the builds pip can
# install here for 3.12; CUDA builds that run on the CPU), lerobot 0.6.1 --no-deps, then exactly the
# requirements lerobot's metadata declares for the extras the fixtures need
# (scripts/lerobot_requirements.py). Then, offline (HF_HUB_OFFLINE=1), on copies of the
# lerobot-policies fixtures (their stand-in assets beside them) and on act/diffusion written here
# with two cameras (scripts/lerobot_checkpoints.py):
#   generate-passport --dynamic --dataset-path -> sign-checkpoint -> pytest --checkpoint -m gpu
#   (serial and -n 2) -> validate-checkpoint --require-signoff.
# Then the same for gaussian_actor with its reference frames read through lerobot's loader from a
# video-backed copy of the dataset (scripts/lerobot_video_dataset.py).
# multi_task_dit's random init zeroes its adaLN conditioning (DiT's adaLN-Zero), so its actions do
# not depend on the observation: the lane requires the gate to refuse it on liveness.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"
VENV="${VENV:-.venv-lerobot}"
FIXTURES="$REPO/tests/fixtures/lerobot-policies"
TYPES="${LEROBOT_TYPES-act diffusion tdmpc gaussian_actor smolvla xvla}"
CAMERA_TYPES="${LEROBOT_CAMERA_TYPES-act diffusion}"
FROZEN_TYPES="${LEROBOT_FROZEN_TYPES-multi_task_dit}"
DATASET="$FIXTURES/dataset/synthetic_arm"

python312() {
    # The first interpreter that runs and is >= 3.12 (a pyenv shim on PATH may exist and still fail).
    local candidate
    for candidate in ${PYTHON:-} python3.12 python3.13 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python \
            "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13*/bin/python; do
        if "$candidate" -c 'import sys; assert sys.version_info >= (3, 12)' >/dev/null 2>&1; then
            "$candidate" -c 'import sys; print(sys.executable)'
            return 0
        fi
    done
    echo "lerobot lane: lerobot 0.6.1 needs Python >= 3.12 and none was found (set PYTHON=...)" >&2
    return 1
}

PY="$VENV/bin/python"
PIP=("$PY" -m pip install -q --disable-pip-version-check -c scripts/lerobot-constraints.txt)
if [ ! -x "$PY" ]; then
    PY312="$(python312)"
    "$PY312" -m venv "$VENV"
fi
if ! "$PY" -c "import importlib.metadata as m, torchvision; assert m.version('lerobot') == '0.6.1'" 2>/dev/null; then
    "${PIP[@]}" -e '.[torch]' "torchvision==0.29.1"
    "${PIP[@]}" --no-deps "lerobot==0.6.1"
    "$PY" scripts/lerobot_requirements.py dataset diffusion multi-task-dit smolvla xvla > "$VENV/lerobot-requirements.txt"
    "${PIP[@]}" -r "$VENV/lerobot-requirements.txt"
fi
"$PY" -m pip install -q --disable-pip-version-check --no-deps -e . >/dev/null  # this checkout, whatever the venv had
BIN="$(cd "$VENV/bin" && pwd)"
export HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 TRANSFORMERS_VERBOSITY=error
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"  # the fixtures name their stand-in assets by the relative path local_assets/<name>
cp -R "$FIXTURES/local_assets" .
for kind in $TYPES $FROZEN_TYPES; do cp -R "$FIXTURES/policies/$kind" "$kind"; done
mkdir cameras
"$BIN/python" "$REPO/scripts/lerobot_checkpoints.py" "$DATASET" cameras $CAMERA_TYPES >/dev/null
git init -q training-repo
git -C training-repo -c user.email=ci@example.org -c user.name=ci commit -q --allow-empty -m "training code"

generate() {
    "$BIN/generate-passport" "$1" --dynamic --device cpu --dataset-path "$DATASET" --training-repo training-repo \
        --run-log https://example.org/runs/lerobot-lane --dataset-repo local/synthetic_arm >"$1.generate.log" 2>&1 \
        || { cat "$1.generate.log" >&2; return 1; }
    grep -q '"resolved_via": "lerobot.policies.factory.get_policy_class"' "$1/MODEL_PASSPORT.json"
}

gate() {
    "$BIN/python" -m pytest -p no:cacheprovider -q --checkpoint="$@" -m gpu
}

for ckpt in $TYPES $(for kind in $CAMERA_TYPES; do echo "cameras/$kind"; done); do
    echo "== lerobot lane: $ckpt"
    start=$SECONDS
    generate "$ckpt"
    "$BIN/sign-checkpoint" "$ckpt" --reason "lerobot lane: random-init $ckpt, soft signals reviewed" | tail -1
    gate "$ckpt" | tail -1
    gate "$ckpt" -n 2 | tail -1
    "$BIN/validate-checkpoint" "$ckpt" --require-signoff | tail -1
    echo "   ($((SECONDS - start)) s)"
done

# A video-backed dataset (cameras as MP4 under videos/, written by lerobot itself): the reference
# frames come through lerobot's own loader, stored as PNG, and the gate passes on them.
echo "== lerobot lane: the dataset readers' tests with lerobot installed (tests/runtime/test_frames.py)"
(cd "$REPO" && "$BIN/python" -m pytest -p no:cacheprovider -q tests/runtime/test_frames.py | tail -1)

echo "== lerobot lane: video dataset -> gaussian_actor"
start=$SECONDS
mkdir video
"$BIN/python" "$REPO/scripts/lerobot_video_dataset.py" "$DATASET" video/arm_video >video/write.log 2>&1 \
    || { cat video/write.log >&2; exit 1; }
cp -R "$FIXTURES/policies/gaussian_actor" video/gaussian_actor
"$BIN/generate-passport" video/gaussian_actor --dynamic --device cpu --dataset-path video/arm_video \
    --training-repo training-repo --run-log https://example.org/runs/lerobot-lane --dataset-repo local/arm_video \
    >video/generate.log 2>&1 || { cat video/generate.log >&2; exit 1; }
grep -q '"notes": "dataset=arm_video via lerobot ' video/gaussian_actor/MODEL_PASSPORT.json
ls video/gaussian_actor/assets/reference_frames/{top,gripper}_009.png >/dev/null
"$BIN/sign-checkpoint" video/gaussian_actor --reason "lerobot lane: reference frames from a video dataset" | tail -1
gate video/gaussian_actor | tail -1
echo "   ($((SECONDS - start)) s)"

for kind in $FROZEN_TYPES; do
    echo "== lerobot lane (must be refused: actions independent of the input): $kind"
    generate "$kind"
    if out="$("$BIN/sign-checkpoint" "$kind" --reason "lerobot lane" 2>&1)"; then
        echo "lerobot lane: $kind was signed although its actions ignore the input" >&2; exit 1
    fi
    grep -q "liveness" <<<"$out" || { echo "$out" >&2; exit 1; }
    if out="$(gate "$kind" 2>&1)"; then
        echo "lerobot lane: the gpu items passed $kind although its actions ignore the input" >&2; exit 1
    fi
    grep -q "FAILED checkpoint::output_spec\[runtime_smoke\] - runtime_smoke: smoke liveness" <<<"$out" \
        || { echo "$out" >&2; exit 1; }
    grep -F "smoke liveness" <<<"$out" | tail -1
done
