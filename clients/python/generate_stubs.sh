#!/usr/bin/env bash
# Generates Python message and gRPC stubs from ../../protos into dct_client/generated/, with the protoc and gRPC
# plugin of the system (Debian 12: packages protobuf-compiler and protobuf-compiler-grpc). Stubs from a newer protoc
# are rejected by Debian's python3-protobuf 4.21 / python3-grpcio 1.51, so do not use another generator with them.
#
# google/rpc/status.proto (used by the diffusion and orchestrator contracts) is taken from the Google.Api.CommonProtos
# NuGet package that the .NET build restores; set GOOGLE_COMMON_PROTOS to a folder holding google/rpc/status.proto
# to use another copy. The classifier contract needs neither.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="$here/dct_client/generated"

command -v protoc >/dev/null || { echo "protoc not found: apt-get install protobuf-compiler" >&2; exit 1; }
plugin="$(command -v grpc_python_plugin || true)"
[ -n "$plugin" ] || { echo "grpc_python_plugin not found: apt-get install protobuf-compiler-grpc" >&2; exit 1; }

common="${GOOGLE_COMMON_PROTOS:-}"
if [ -z "$common" ]; then
  packages="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
  common="$(ls -d "$packages"/google.api.commonprotos/*/content/protos 2>/dev/null | sort -V | tail -n 1 || true)"
fi
[ -f "$common/google/rpc/status.proto" ] || {
  echo "google/rpc/status.proto not found; run 'dotnet restore' in the repository first or set GOOGLE_COMMON_PROTOS" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out"
protos=$(cd "$repo/protos" && find dct -name '*.proto' | sort)
(cd "$repo/protos" && protoc -I . -I "$common" --python_out="$out" --grpc_python_out="$out" \
   --plugin=protoc-gen-grpc_python="$plugin" $protos)
(cd "$common" && protoc -I . --python_out="$out" google/rpc/status.proto)
# Make our folders packages so "import dct.classifier.v1.classifier_pb2" works with $out on sys.path. google/ stays a
# namespace package, so that google.rpc (generated here) and google.protobuf (installed) both resolve.
find "$out/dct" -type d -exec touch {}/__init__.py \;
echo "generated $(find "$out" -name '*_pb2*.py' | wc -l) modules in $out"
