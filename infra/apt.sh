#!/usr/bin/env bash
# Debian packages the build and tests need, installed when missing (quiet, idempotent): cmake
# and nasm build libjpeg-turbo from source for the turbojpeg crate (Debian's own is too old for
# it); ffmpeg (with ffprobe) makes video renditions.
# .ci/run calls this before the first cargo command; infra/test.sh calls it too.
set -euo pipefail
need=()
for tool in cmake nasm ffmpeg; do
    command -v "$tool" >/dev/null 2>&1 || need+=("$tool")
done
[ ${#need[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing ${need[*]} (apt)" >&2
$sudo apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
