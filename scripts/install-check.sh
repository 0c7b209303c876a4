#!/usr/bin/env bash
# The test command's `install` stage: proves that an installed token store is usable on its
# own, by a program that has nothing but the installed tree.
#
#   1. cmake --install build/<preset> into a temporary prefix (nothing is built but what the
#      install rules need, target `installed`: after the dev stage, nothing at all);
#   2. builds the installed copy of examples/client with CMake, CMAKE_PREFIX_PATH the prefix
#      only (package registries off; it fails if tokenstore_DIR is anything but the prefix or
#      if its build files name this source or build tree), and again with g++ and
#      `pkg-config --cflags --libs tokenstore`, PKG_CONFIG_PATH the prefix only;
#   3. starts three token-replica from the prefix's bin/ on 127.0.0.1 (ports BASE+1..3,
#      TOKENSTORE_INSTALL_PORT_BASE, default 48050: clear of the tests' 10000-32767, the demo's
#      50051-55, bench's 46051-55 and profile's 47051-53), waits for them to serve (at most
#      about 20 s each), then runs both example binaries: each writes a token, reads it back
#      and reads it from four threads; the installed token-client reads the first one; an
#      unconfigured token must fail with NOT_FOUND (exit 3).
#
# Everything it started is stopped and the prefix removed when it ends, also on failure or
# Ctrl-C.
#
#   scripts/install-check.sh                 # after a dev build
#   PRESET=release scripts/install-check.sh  # another preset's build
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

preset=${PRESET:-dev}
build="$root/build/$preset"
base=${TOKENSTORE_INSTALL_PORT_BASE:-48050}
if ! [[ "$base" =~ ^[0-9]+$ ]] || ((base < 1024 || base > 65500)); then
  echo "install-check: TOKENSTORE_INSTALL_PORT_BASE must be 1024..65500" >&2
  exit 2
fi
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  echo "install-check: $build is not configured (cmake --preset $preset && cmake --build --preset $preset)" >&2
  exit 2
fi

work=$(mktemp -d /tmp/tokenstore-install.XXXXXX)
prefix="$work/prefix"
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    # A replica stops within about 3 s of SIGTERM; one that does not gets SIGKILL.
    for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { echo "--- $*"; }
# quiet LOG COMMAND...: runs COMMAND with its output in LOG, printed when it fails.
quiet() {
  local log=$1
  shift
  "$@" >"$log" 2>&1 || { cat "$log" >&2; echo "install-check: failed: $*" >&2; exit 1; }
}
# Nothing the example is built with may come from here.
not_from_tree() {
  if grep -qF -e "$root" "$@"; then
    echo "install-check: the example's build refers to the source tree $root:" >&2
    grep -nF -e "$root" "$@" | head -n 5 >&2
    exit 1
  fi
}

step "install build/$preset into $prefix"
quiet "$work/build.log" cmake --build "$build" --target installed -j "${JOBS:-$(nproc)}"
tail -n 1 "$work/build.log"
quiet "$work/install.log" cmake --install "$build" --prefix "$prefix"
echo "$(grep -c '^-- Installing' "$work/install.log") files; $(du -sh "$prefix" | cut -f1)"
example_src="$prefix/share/doc/tokenstore/examples/client"

step "build the installed examples/client with CMake (find_package(tokenstore), CMAKE_PREFIX_PATH=$prefix only)"
# Only the prefix: no inherited search paths, no package registries.
quiet "$work/example-configure.log" env -u CMAKE_PREFIX_PATH -u tokenstore_DIR -u tokenstore_ROOT \
  -u PKG_CONFIG_PATH cmake -S "$example_src" -B "$work/example" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF
found=$(sed -n 's/^tokenstore_DIR:PATH=//p' "$work/example/CMakeCache.txt")
if [[ "$found" != "$prefix/lib/cmake/tokenstore" ]]; then
  echo "install-check: find_package(tokenstore) found '$found', not the installed package" >&2
  exit 1
fi
echo "tokenstore_DIR=$found"
quiet "$work/example-build.log" cmake --build "$work/example"
tail -n 1 "$work/example-build.log"
not_from_tree "$work/example/build.ninja" "$work/example/CMakeCache.txt"

step "build it again with pkg-config (PKG_CONFIG_PATH=$prefix/lib/pkgconfig only)"
pc_flags=$(env -u PKG_CONFIG_PATH PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs tokenstore)
echo "$pc_flags" >"$work/pc-flags.txt"
not_from_tree "$work/pc-flags.txt"
echo "g++ -std=c++20 example.cc \$(pkg-config --cflags --libs tokenstore)"
# shellcheck disable=SC2086  # pkg-config's words are meant to split
g++ -std=c++20 "$example_src/example.cc" $pc_flags -o "$work/example/tokenstore-example-pc"

step "three token-replica from $prefix/bin on 127.0.0.1:$((base + 1))-$((base + 3))"
nodes=("127.0.0.1:$((base + 1))" "127.0.0.1:$((base + 2))" "127.0.0.1:$((base + 3))")
for n in "${nodes[@]}"; do
  if (exec 3<>"/dev/tcp/${n%:*}/${n#*:}") 2>/dev/null; then
    echo "install-check: $n is already in use; stop what listens there or set TOKENSTORE_INSTALL_PORT_BASE" >&2
    exit 1
  fi
done
config="$work/cluster.yaml"
{
  echo "- tokens: [1, 2]"
  echo "  writer: ${nodes[0]}"
  echo "  readers: [${nodes[0]}, ${nodes[1]}, ${nodes[2]}]"
} >"$config"
for n in "${nodes[@]}"; do
  "$prefix/bin/token-replica" --config "$config" --listen "$n" --data-dir "$work/data-${n#*:}" \
    --no-op-log >"$work/log-${n#*:}.out" 2>"$work/log-${n#*:}.err" &
  pids+=($!)
done
for k in "${!nodes[@]}"; do
  n=${nodes[$k]}
  ready=0
  # A node answers dumps once it listens; its dump's header says "(serving;" once it serves.
  for _ in $(seq 1 200); do
    if ! kill -0 "${pids[$k]}" 2>/dev/null; then break; fi
    header=$("$prefix/bin/token-admin" dump --node "$n" --timeout 0.5 2>/dev/null || true)
    if [[ ${header%%$'\n'*} == *"(serving;"* ]]; then ready=1; break; fi
    sleep 0.1
  done
  if ((!ready)); then
    echo "install-check: $n did not start serving; its log:" >&2
    cat "$work/log-${n#*:}.err" >&2
    exit 1
  fi
done
echo "serving"

step "run the examples against it"
echo "\$ tokenstore-example cluster.yaml 1      # built with CMake"
timeout 60 "$work/example/tokenstore-example" "$config" 1
echo "\$ tokenstore-example-pc cluster.yaml 2   # built with pkg-config"
timeout 60 "$work/example/tokenstore-example-pc" "$config" 2
echo "\$ token-client --config cluster.yaml read --id 1   # the installed program sees the same"
"$prefix/bin/token-client" --config "$config" read --id 1 --timeout 10
echo "\$ tokenstore-example cluster.yaml nosuch # not configured: NOT_FOUND, exit 3"
rc=0
timeout 60 "$work/example/tokenstore-example" "$config" nosuch 2>"$work/nosuch.err" || rc=$?
sed 's/^/  /' "$work/nosuch.err"
if ((rc != 3)); then
  echo "install-check: an unconfigured token exited $rc, not 3" >&2
  exit 1
fi
echo "install-check: the installed programs, library, headers, CMake package and pkg-config file work"
