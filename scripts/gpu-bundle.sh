#!/usr/bin/env bash
# Takes a build to a GPU machine that cannot install or build it: one with
# the NVIDIA driver, the CUDA Toolkit (ptxas) and Python, but neither
# Debian's LLVM/MLIR 22 nor a package mirror (a lent benchmark box, say).
#
#   bash scripts/gpu-bundle.sh pack BUNDLE.tar.xz    # here, after scripts/build.sh
#   bash scripts/gpu-bundle.sh install BUNDLE.tar.xz # there, as root, in the checkout
#   DENSESSM_PREBUILT=1 bash scripts/gpu-check.sh    # there: the GPU checks
#
# The bundle holds what the GPU checks run: densessm's tools, runtime and
# lit configuration (build/), the LLVM 22 pieces they load or call
# (libLLVM, libMLIR, mlir-runner, ld.lld, FileCheck, not, count, lit, the
# runner utilities, libomp) for /usr/lib/llvm-22, and the shared libraries
# those need that a CUDA image may lack (OpenBLAS, libedit, libffi, ...),
# which install puts in /usr/local/lib/densessm-bundle only where the
# machine has no library of that name.
#
# Two of libLLVM's dependencies are replaced by stubs to keep the bundle
# small (both are tens of MB with their own dependencies): Z3 (LLVM's
# static analyser's constraint solver) and libxml2 (lld-link's Windows
# manifests). densessm calls neither; each stub function says so and
# aborts if anything ever does.
set -euo pipefail
cd "$(dirname "$0")/.."
LLVM=/usr/lib/llvm-22
SYSTEM_DIR=/usr/local/lib/densessm-bundle

die() { echo "gpu-bundle: error: $*" >&2; exit 1; }

# A shared library `soname` defining every symbol libLLVM takes from it
# (those matching `pattern`), with the symbol versions libLLVM asks for;
# each aborts with a message. Written to dir/soname.
write_stub() { # dir, soname, pattern
  local dir=$1 soname=$2 pattern=$3
  nm -D --undefined-only "$(readlink -f $LLVM/lib/libLLVM.so.22.1)" |
    awk -v p="$pattern" '$2 ~ p {print $2}' |
    python3 -c '
import collections, sys
soname, out = sys.argv[1], sys.argv[2]
by_version = collections.defaultdict(list)
with open(out + ".c", "w") as c:
    c.write("#include <stdio.h>\n#include <stdlib.h>\n")
    for symbol in sys.stdin.read().split():
        name, _, version = symbol.partition("@")
        by_version[version].append(name)
        c.write(f"void {name}(void) {{ fputs(\"densessm GPU bundle: {name} is a stub "
                f"(the bundle has no real {soname})\\n\", stderr); abort(); }}\n")
with open(out + ".map", "w") as m:
    for version, names in by_version.items():
        symbols = "; ".join(names)
        m.write(f"{version} {{ global: {symbols}; }};\n")
' "$soname" "$dir/$soname"
  clang-22 -shared -fPIC -fuse-ld=lld -o "$dir/$soname" "$dir/$soname.c" \
    -Wl,-soname,"$soname" -Wl,--version-script,"$dir/$soname.map"
  rm "$dir/$soname.c" "$dir/$soname.map"
}

pack() {
  local bundle=$1 build=${BUILD_DIR:-build}
  [ -x "$build/bin/densessm-opt" ] || die "no build in $build/ (run scripts/build.sh first)"
  STAGE=$(mktemp -d)
  trap 'rm -rf "$STAGE"' EXIT
  local stage=$STAGE
  echo "gpu-bundle: staging in $stage"

  # densessm: tools, runtime, lit configuration.
  mkdir -p "$stage/build/lib" "$stage/build/test"
  cp -a "$build/bin" "$stage/build/"
  cp -a "$build/lib/libdensessm_runtime.so" "$stage/build/lib/"
  cp -a "$build/test/lit.site.cfg.py" "$stage/build/test/"
  # Where the build was configured: the checkout's path there must lead here.
  sed -n 's/^config.densessm_src_root = "\(.*\)"$/\1/p' "$build/test/lit.site.cfg.py" \
    >"$stage/build/configured-source-root"

  # LLVM 22: real files (-L), the names densessm's tools and tests use.
  mkdir -p "$stage/llvm-22/bin" "$stage/llvm-22/lib" "$stage/llvm-22/utils"
  cp -L $LLVM/bin/{mlir-runner,FileCheck,not,count,lld,lit} "$stage/llvm-22/bin/"
  ln -s lld "$stage/llvm-22/bin/ld.lld"
  cp -a $LLVM/utils/lit "$stage/llvm-22/utils/"
  local lib
  for lib in libLLVM.so.22.1 libMLIR.so.22.1 libmlir_c_runner_utils.so.22.1 \
             libmlir_runner_utils.so.22.1 libomp.so.5; do
    cp -L "$LLVM/lib/$lib" "$stage/llvm-22/lib/"
  done
  ln -s libMLIR.so.22.1 "$stage/llvm-22/lib/libMLIR.so"
  ln -s libmlir_c_runner_utils.so.22.1 "$stage/llvm-22/lib/libmlir_c_runner_utils.so"
  ln -s libmlir_runner_utils.so.22.1 "$stage/llvm-22/lib/libmlir_runner_utils.so"
  ln -s libomp.so.5 "$stage/llvm-22/lib/libomp.so"

  # The system libraries they need, but glibc's, libstdc++ and libgcc_s
  # (every Linux with Python has newer ones) and the two stubbed.
  mkdir -p "$stage/system"
  ldd "$build"/bin/* "$build/lib/libdensessm_runtime.so" $LLVM/bin/{mlir-runner,lld} 2>/dev/null |
    awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | sort -u |
    while read -r soname path; do
      case "$soname" in
        libc.so.*|libm.so.*|libpthread.so.*|libdl.so.*|librt.so.*|ld-linux*|libstdc++.so.*|libgcc_s.so.*) ;;
        libLLVM*|libMLIR*|libomp*|libdensessm*|libz3.so.*|libxml2.so.*|libicu*) ;;
        *) cp -L "$path" "$stage/system/$soname" ;;
      esac
    done
  write_stub "$stage/system" libz3.so.4 '^Z3_'
  write_stub "$stage/system" libxml2.so.2 '^xml'
  echo "gpu-bundle: $(du -sh "$stage" | cut -f1) staged; compressing (xz -9e, a few minutes)"
  mkdir -p "$(dirname "$bundle")"
  tar -C "$stage" -cf - . | xz -9e -T0 >"$bundle"
  echo "gpu-bundle: wrote $bundle ($(du -h "$bundle" | cut -f1))"
}

install_bundle() {
  local bundle=$1
  [ "$(id -u)" -eq 0 ] || die "install writes /usr/lib/llvm-22 and /usr/local/lib: run it as root"
  [ -e $LLVM/bin/mlir-runner ] && ! [ -e $LLVM/.densessm-bundle ] &&
    die "$LLVM already holds an LLVM installation; build here instead (scripts/build.sh)"
  local stage
  stage=$(mktemp -d)
  echo "gpu-bundle: unpacking $bundle"
  xz -dc "$bundle" | tar -C "$stage" -xf -
  mkdir -p $LLVM "$SYSTEM_DIR"
  cp -a "$stage/llvm-22/." $LLVM/
  touch $LLVM/.densessm-bundle
  # A library only where the machine has none of that name: its own are
  # newer and are what its other programs were built against.
  local path soname known installed=()
  known=$(ldconfig -p)
  for path in "$stage"/system/*; do
    soname=$(basename "$path")
    if ! grep -q "^[[:space:]]*$soname " <<<"$known"; then
      cp -a "$path" "$SYSTEM_DIR/"
      installed+=("$soname")
    fi
  done
  echo "$SYSTEM_DIR" >/etc/ld.so.conf.d/densessm-bundle.conf
  ldconfig
  echo "gpu-bundle: installed into $SYSTEM_DIR: ${installed[*]:-none}"
  mkdir -p build
  cp -a "$stage/build/." build/
  # The tools' run paths and lit's configuration name the checkout where it
  # was built; that path must lead to this checkout.
  local configured
  configured=$(cat build/configured-source-root)
  if [ "$(readlink -f "$configured" 2>/dev/null)" != "$(pwd -P)" ]; then
    [ -e "$configured" ] && die "$configured exists and is not this checkout ($(pwd -P))"
    mkdir -p "$(dirname "$configured")"
    ln -s "$(pwd -P)" "$configured"
    echo "gpu-bundle: $configured -> $(pwd -P)"
  fi
  rm -rf "$stage"
  # Every tool must load: a missing library is named here, not in a test.
  local tool missing=0
  for tool in build/bin/* $LLVM/bin/{mlir-runner,lld,FileCheck}; do
    if ldd "$tool" | grep -q "not found"; then
      echo "gpu-bundle: error: $tool: $(ldd "$tool" | grep 'not found' | tr -s ' \n' ' ')" >&2
      missing=1
    fi
  done
  [ $missing -eq 0 ] || exit 1
  build/bin/densessm-opt --version | head -2
  echo "gpu-bundle: installed"
}

case "${1:-}" in
  pack) [ $# -eq 2 ] || die "usage: $0 pack BUNDLE.tar.xz"; pack "$2" ;;
  install) [ $# -eq 2 ] || die "usage: $0 install BUNDLE.tar.xz"; install_bundle "$2" ;;
  *) die "usage: $0 pack|install BUNDLE.tar.xz" ;;
esac
