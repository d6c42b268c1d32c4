#!/usr/bin/env bash
# Run a command (default: make test) while other processes load the machine, to show that
# no test verdict depends on how busy the machine is.
#
#   bash scripts/test_under_load.sh                    # one CPU hog and a disk copy loop, then make test
#   HOGS=2 bash scripts/test_under_load.sh bash .ci/run
#
# HOGS busy-loop processes (default 1: one core of a 2-core machine), and unless COPY=0 a
# loop copying a 1 GiB file on the disk the tests write to. They stop when the command
# ends; the script prints the load, the time taken and the command's exit status, and
# exits with that status.
set -uo pipefail
HOGS=${HOGS:-1}
COPY=${COPY:-1}
[ $# -gt 0 ] || set -- make test

scratch=$(mktemp -d "${TMPDIR:-/tmp}/load.XXXXXX")
pids=()
stop_load() {
  [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$scratch"
}
trap stop_load EXIT

for _ in $(seq "$HOGS"); do
  python3 -c 'while True: pass' &
  pids+=($!)
done
if [ "$COPY" != 0 ]; then
  head -c 1073741824 /dev/urandom > "$scratch/a"
  (while true; do cp "$scratch/a" "$scratch/b" && sync && rm "$scratch/b"; done) &
  pids+=($!)
fi

echo "load: $HOGS CPU hog(s), disk copy loop: $([ "$COPY" != 0 ] && echo on || echo off); $(nproc) cores"
echo "running: $*"
start=$(date +%s)
"$@"
status=$?
echo "under load: '$*' exited with status $status after $(( ($(date +%s) - start) / 60 )) min $(( ($(date +%s) - start) % 60 )) s"
exit $status
