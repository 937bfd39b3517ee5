#!/usr/bin/env bash
# Builds the solution, runs the three services on loopback (orchestrator 5100, diffusion 5101, classifier 5102),
# waits until all are serving, then runs the main job: trains a discriminative token for class DCT_CLASS through the
# orchestrator (progress on the terminal; the token lands in .dct/tokens/<job id>/), evaluates it against the baseline
# prompt on unseen seeds, and keeps the services running until Ctrl+C. Logs go to .dct/logs/.
# DCT_TRAIN_ARGS replaces the training options (default: a short run sized for the bundled tiny models, see below).
# The classifier service serves the bundled tiny ViT (tests/data/sd-tiny/vit-tiny) unless DCT_CLASSIFIER_ARGS gives
# other arguments, e.g. DCT_CLASSIFIER_ARGS="--Classifier:Kind vit --Classifier:Path /models/vit-base-patch16-224".
# The diffusion service serves DCT_DIFFUSION_MODEL (a diffusers folder or a hub id in the Hugging Face cache), else
# the bundled tiny model tests/data/sd-tiny.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
command -v dotnet >/dev/null || { echo "The .NET 10 SDK is required: install it from https://dot.net, then rerun." >&2; exit 1; }

echo "Building (first run restores packages, including LibTorch: a few minutes)..."
if ! build_log=$(dotnet build DiscriminativeTokens.sln -c Release -v quiet -nologo 2>&1); then
  echo "$build_log" >&2
  echo "Build failed." >&2
  exit 1
fi
logs="$repo/.dct/logs"
mkdir -p "$logs"
pids=()
stopped=0
stop() {
  [ "$stopped" -eq 0 ] || return 0
  stopped=1
  echo "Stopping services..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait || true
}
trap stop EXIT INT TERM

start() { # folder assembly [arguments...]
  local folder="$1" assembly="$2"
  shift 2
  dotnet "services/$folder/Host/bin/Release/net10.0/$assembly.dll" "$@" >"$logs/$assembly.log" 2>&1 &
  pids+=($!)
}
if [ -n "${DCT_CLASSIFIER_ARGS:-}" ]; then
  read -r -a classifier_args <<<"$DCT_CLASSIFIER_ARGS"
else
  classifier_args=(--Classifier:Kind vit --Classifier:Path "$repo/tests/data/sd-tiny/vit-tiny")
fi
# The diffusion model: DCT_DIFFUSION_MODEL (a diffusers folder or a hub id in the Hugging Face cache), else the tiny
# test model, which loads in a second and shows the mechanics (its images are noise-like).
start DiffusionService DiffusionService --Diffusion:Model "${DCT_DIFFUSION_MODEL:-$repo/tests/data/sd-tiny}"
start ClassifierService ClassifierService "${classifier_args[@]}"
# Jobs (database and artifacts) stay in the repository's .dct folder for local runs.
start Orchestrator Orchestrator --Orchestrator:DataDirectory "$repo/.dct/orchestrator"

dct() { dotnet clients/dct/bin/Release/net10.0/dct.dll "$@"; }
if ! dct status --wait 60; then
  echo "A service did not come up; see $logs" >&2
  exit 1
fi
# The main job. The bundled tiny models are random (their images are noise-like and the classifier barely reacts),
# so the default run is short and uses the settings under which even they learn: gradients through every UNet call
# and a large learning rate. With real models, the reference defaults need no options: DCT_TRAIN_ARGS="282".
if [ -n "${DCT_TRAIN_ARGS:-}" ]; then
  read -r -a train_args <<<"$DCT_TRAIN_ARGS"
else
  train_args=("${DCT_CLASS:-4}" --steps 4 --micro-steps 3 --max-epochs 3 --gradient full --lr 0.5)
fi
export DCT_TOKENS_DIR="$repo/.dct/tokens"
output=$(mktemp)
if dct train "${train_args[@]}" --name run-local | tee "$output"; then
  job=$(sed -n 's/^job //p' "$output" | head -n 1)
  dct evaluate "$job" --images 2 || echo "evaluation failed; see $logs" >&2
else
  echo "training failed; see $logs" >&2
fi
rm -f "$output"
echo "All services are serving (dct jobs, dct train --help). Logs: $logs. Press Ctrl+C to stop."
wait
