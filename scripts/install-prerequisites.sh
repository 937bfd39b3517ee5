#!/usr/bin/env bash
# Installs the system packages the tests need (Debian/Ubuntu), only those that are missing:
#   protoc 3.21 and the gRPC Python plugin (Python stubs are generated with them), and /usr/bin/python3 with grpcio,
#   protobuf and numpy (the Python client and classifier tests run on them).
# The .NET SDK 10 must already be installed (https://dot.net); NuGet restores the rest.
set -euo pipefail
command -v dotnet >/dev/null || { echo "The .NET 10 SDK is required: install it from https://dot.net, then rerun." >&2; exit 1; }

packages=(protobuf-compiler protobuf-compiler-grpc python3 python3-grpcio python3-protobuf python3-numpy)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

command -v apt-get >/dev/null || { echo "Missing packages ${missing[*]}; install them with your package manager." >&2; exit 1; }
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "Installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
