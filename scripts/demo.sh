#!/usr/bin/env bash
# The main job end to end on the bundled demo checkpoint:
# generate the passport -> validate -> sign -> gate (and watch the gate refuse a tampered copy).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -e .
export PATH="$PWD/.venv/bin:$PATH"

work="$(mktemp -d "${TMPDIR:-/tmp}/passport-demo.XXXXXX")"
ckpt="$work/act_state_only"
cp -r examples/demo_checkpoint "$ckpt"
chmod -R u+w "$ckpt"

# A stand-in for the training code's repository, so the passport can pin its commit.
export GIT_AUTHOR_NAME=demo GIT_AUTHOR_EMAIL=demo@example.invalid GIT_COMMITTER_NAME=demo GIT_COMMITTER_EMAIL=demo@example.invalid
git init -q "$work/training-repo"
echo "train.py" > "$work/training-repo/train.py"
git -C "$work/training-repo" add train.py && git -C "$work/training-repo" commit -q -m "training code"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. generate-passport"
generate-passport "$ckpt" --training-repo "$work/training-repo"

step "2. validate-checkpoint (soft signals are expected for fields a human or Phase 2 fills)"
validate-checkpoint "$ckpt" --show-not-checked

step "3. sign-checkpoint"
sign-checkpoint "$ckpt" --reason "demo: state-only ACT policy; no cameras, no reference vector yet"

step "4. the load gate: validate-checkpoint --require-signoff"
validate-checkpoint "$ckpt" --require-signoff

step "5. a tampered copy: one byte of model.safetensors changed"
cp -r "$ckpt" "$work/tampered"
printf '\x01' | dd of="$work/tampered/model.safetensors" bs=1 seek=100000 conv=notrunc status=none
if validate-checkpoint "$work/tampered" --require-signoff; then
  echo "the gate accepted a tampered checkpoint" >&2; exit 1
fi
printf '\nDemo OK: the signed checkpoint passes the gate, the tampered copy is refused.\nFiles: %s\n' "$ckpt"
