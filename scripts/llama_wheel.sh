#!/usr/bin/env bash
# Build (once) and print the path of a portable llama-cpp-python wheel.
#
#   scripts/llama_wheel.sh PYTHON VERSION SDIST
#
# llama.cpp's default build (GGML_NATIVE=ON) compiles for the CPU it is built on, AMX and AVX-512
# included; such a wheel dies with SIGILL (illegal instruction) on another CPU, or on a guest that
# advertises AMX but cannot run it. dada builds without native tuning instead: AVX, AVX2, FMA and
# F16C on x86-64 (any x86-64 CPU since 2013), the plain portable build elsewhere, no llava/mtmd
# (dada serves text models only; it halves the compile).
#
# The wheel is kept in a folder keyed by the version and the exact CMake flags
# ($DADA_WHEEL_CACHE, default ~/.cache/dada/wheels/llama-cpp-python-VERSION-FLAGSHASH/), built with
# pip's own cache off: pip keys its wheel cache by the source distribution, not by CMAKE_ARGS, so
# it would hand back a wheel built with other flags. A fresh venv reuses the folder's wheel.
#
# For speed on your own machine only: DADA_LLAMA_CMAKE_ARGS="-DGGML_NATIVE=ON" make ...
set -euo pipefail
py=$1 version=$2 sdist=$3
if [ -n "${DADA_LLAMA_CMAKE_ARGS:-}" ]; then
  flags=$DADA_LLAMA_CMAKE_ARGS
elif [ "$(uname -m)" = x86_64 ]; then
  flags="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DLLAVA_BUILD=OFF"
else
  flags="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF"
fi
key=$(printf '%s\n%s\n' "$version" "$flags" | sha256sum | cut -c1-12)
root=${DADA_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dada/wheels}
dir=$root/llama-cpp-python-$version-$key
wheel=$(ls "$dir"/llama_cpp_python-"$version"-*.whl 2>/dev/null | head -n1 || true)
if [ -z "$wheel" ]; then
  mkdir -p "$root"
  tmp=$(mktemp -d "$root/.building-XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  echo "building llama-cpp-python $version with CMAKE_ARGS=\"$flags\" (several minutes, once)" >&2
  CMAKE_ARGS="$flags" CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) \
    "$py" -m pip wheel -q --no-cache-dir --no-deps -w "$tmp" "$sdist" >&2
  printf '%s\n' "$flags" > "$tmp/CMAKE_ARGS"
  rm -rf "$dir"
  mv "$tmp" "$dir"
  trap - EXIT
  wheel=$(ls "$dir"/llama_cpp_python-"$version"-*.whl | head -n1)
fi
echo "$wheel"
