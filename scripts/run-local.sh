#!/usr/bin/env bash
# Builds the solution and runs the three services on loopback (orchestrator 5100, diffusion 5101, classifier 5102),
# waits until all are serving, shows their status, generates one image into .dct/images/, and keeps the services
# running until Ctrl+C. Logs go to .dct/logs/.
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
start Orchestrator Orchestrator

dct() { dotnet clients/dct/bin/Release/net10.0/dct.dll "$@"; }
if ! dct status --wait 60; then
  echo "A service did not come up; see $logs" >&2
  exit 1
fi
# Until training jobs arrive (Orchestrator issue), show the diffusion service end to end: one image, with progress.
dct generate "a photo of a cat" --steps 10 --out "$repo/.dct/images" || echo "generation failed; see $logs" >&2
echo "All services are serving. Logs: $logs. Press Ctrl+C to stop."
wait
