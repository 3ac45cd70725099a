#!/usr/bin/env bash
# Registers, shared memory and spills of every CUDA C kernel for sm_90 (H100/H200), without a GPU: NVIDIA's own
# compilers from Debian's non-free CUDA 12.4 packages (trixie's; NVRTC to PTX with CudaModules' options, then ptxas -v).
# A kernel that spills under its __launch_bounds__ runs at a fraction of its speed; the GPU-side test
# (CudaRuntimeTests.New_kernels_do_not_spill) sees that only in a device session, this sees it in CI.
# The GPU hosts compile with NVRTC 13, so counts can differ by a few registers there (12.4 is the newest Debian has;
# until 2026-12-03 this used bookworm's 11.8, which did not see binary_grad_block's spill below).
#
#   tools/kernel-resources.sh          fetch the compilers into .gpu/cuda-12.4 once (~105 MB download, no install:
#                                      apt-get download + dpkg -x, the system is not changed), print the table,
#                                      exit 1 when a kernel spills more than its allowance below
#   tools/kernel-resources.sh fetch    only fetch; exit 3 when the packages cannot be had (CI then skips the check;
#                                      also when the tools cannot run: the check itself exits 1 only for a kernel)
#   tools/kernel-resources.sh sass FILE.cu KERNEL [FROM TO | loop]
#                                      the kernel's SASS for sm_90; with two hex addresses, the opcode counts of that
#                                      range; with "loop", those of the GEMM main loop (the longest loop holding FFMA
#                                      or HMMA, less the side of an if/else that divides: the data gradient's
#                                      stride != 1 gather): one k-step per warp, the static mix docs/PERF.md uses
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tools="$root/.gpu/cuda-12.4"
lib="$tools/usr/lib/x86_64-linux-gnu"
kernels="${AMBIENT_KERNEL_DIR:-$root/kernels}" # as on a GPU host: an edited copy is checked without touching the tree

# Known spills, in bytes of ptxas's "spill stores", per kernel, each with its reason (the fp32 weight gradient spilled
# 28 B under 11.8 until its loader's offsets went 32-bit; the H100's NVRTC 13 gave it 40 B of local memory, 2026-11-25).
# binary_grad_block: 12.4 keeps two values of grad_base (once per element of X, outside the fan loop) in local
# memory: 8 B stored once per block, read once per element; not worth the code it would take to avoid.
declare -A allowance=([binary_grad_block]=8)

# Everything the check and sass need; packages.txt is written last, so a fetch cut short is fetched again.
complete() {
  [ -s "$tools/packages.txt" ] && [ -x "$tools/usr/bin/ptxas" ] && [ -x "$tools/usr/bin/cuobjdump" ] &&
    [ -e "$lib/libnvrtc.so.12" ] && [ -e "$lib/libnvrtc-builtins.so.12.4" ]
}

fetch() {
  complete && return 0
  command -v apt-get >/dev/null && command -v dpkg >/dev/null ||
    { echo "kernel-resources: needs apt-get and dpkg (Debian) to fetch CUDA 12.4" >&2; return 3; }
  local work; work=$(mktemp -d)
  trap 'rm -rf "$work"; trap - RETURN' RETURN
  # A private package list for trixie's non-free component only (the package names are trixie's): nothing under
  # /etc/apt changes. No retries and a short timeout, so an offline machine skips the check quickly.
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie non-free" > "$work/sources.list"
  mkdir -p "$work/lists/partial" "$work/debs"
  local apt=(-o "Dir::Etc::sourcelist=$work/sources.list" -o Dir::Etc::sourceparts=/dev/null
             -o "Dir::State::Lists=$work/lists" -o "Dir::Cache::Archives=$work/debs" -o APT::Sandbox::User=root
             -o Acquire::Retries=0 -o Acquire::http::Timeout=20)
  if ! apt-get "${apt[@]}" update -qq >"$work/apt.log" 2>&1 ||
     ! (cd "$work/debs" && apt-get "${apt[@]}" download -qq nvidia-cuda-toolkit libnvrtc12 libnvrtc-builtins12.4 >>"$work/apt.log" 2>&1); then
    echo "kernel-resources: could not download Debian's CUDA 12.4 packages (trixie non-free):" >&2
    tail -5 "$work/apt.log" >&2
    return 3
  fi
  rm -rf "$tools.partial" && mkdir -p "$tools.partial"
  for deb in "$work"/debs/*.deb; do dpkg -x "$deb" "$tools.partial" || return 3; done
  rm -rf "$tools" && mv "$tools.partial" "$tools"
  ls "$work"/debs/*.deb | xargs -n1 basename > "$tools/packages.txt"
  complete || { echo "kernel-resources: the CUDA 12.4 packages lack ptxas, cuobjdump or NVRTC" >&2; return 3; }
}

# Compiles kernel file $1 to PTX $2; nvrtc_ptx.py exits 2 when NVRTC rejects the source (a kernel's fault), else 1
# or 3 when the tool cannot run.
to_ptx() {
  LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" python3 "$root/tools/nvrtc_ptx.py" \
    "$lib/libnvrtc.so.12" "$kernels" "$1" compute_90 "$2"
}

check() {
  local ptx out status=0
  ptx=$(mktemp -d)
  printf '%-18s %-28s %5s %7s %6s %6s\n' file kernel regs smem stack spill
  for cu in "$kernels"/*.cu; do
    local name rc=0; name=$(basename "$cu")
    to_ptx "$name" "$ptx/$name.ptx" || rc=$?
    if [ $rc = 2 ]; then status=1; continue; fi
    [ $rc = 0 ] || { echo "kernel-resources: NVRTC 12.4 could not be run (exit $rc)" >&2; rm -rf "$ptx"; return 3; }
    out=$("$tools/usr/bin/ptxas" -arch=sm_90 -v "$ptx/$name.ptx" -o "$ptx/$name.cubin" 2>&1) || rc=$?
    if [ $rc -ge 126 ]; then echo "kernel-resources: ptxas could not be run (exit $rc)" >&2; rm -rf "$ptx"; return 3; fi
    [ $rc = 0 ] || { echo "$out"; status=1; continue; }
    # ptxas -v: "Compiling entry function 'k' for 'sm_90'", then "N bytes stack frame, S bytes spill stores, ...",
    # then "Used R registers[, M bytes smem]" per kernel.
    while IFS='|' read -r kernel stack spill regs smem; do
      printf '%-18s %-28s %5s %7s %6s %6s' "$name" "$kernel" "$regs" "$smem" "$stack" "$spill"
      if (( spill > ${allowance[$kernel]:-0} )); then printf '   <- spills (allowed: %s B)' "${allowance[$kernel]:-0}"; status=1; fi
      printf '\n'
    done < <(awk '
      function num(re) { return match($0, re) ? substr($0, RSTART, RLENGTH) + 0 : 0 }
      /Compiling entry function/ { match($0, /function .[A-Za-z0-9_]+/); k = substr($0, RSTART + 10, RLENGTH - 10); st = sp = 0 }
      /bytes stack frame/ { st = num("[0-9]+ bytes stack"); sp = num("[0-9]+ bytes spill stores") }
      /Used [0-9]+ registers/ { print k "|" st "|" sp "|" num("[0-9]+ registers") "|" num("[0-9]+ bytes smem") }' <<< "$out")
  done
  rm -rf "$ptx"
  echo "(NVRTC and ptxas from $(tr '\n' ' ' < "$tools/packages.txt"); the H100/H200 hosts run NVRTC 13)"
  return $status
}

# sass FILE.cu KERNEL [FROM TO | loop]
sass() {
  [ -f "$kernels/$(basename "$1")" ] || { echo "kernel-resources: no kernel file $kernels/$(basename "$1")" >&2; return 2; }
  set -- "$(basename "$1")" "${@:2}"
  local ptx; ptx=$(mktemp -d)
  to_ptx "$1" "$ptx/k.ptx" &&
    "$tools/usr/bin/ptxas" -arch=sm_90 "$ptx/k.ptx" -o "$ptx/k.cubin" &&
    "$tools/usr/bin/cuobjdump" -sass -fun "$2" "$ptx/k.cubin" > "$ptx/k.sass" || { rm -rf "$ptx"; return 1; }
  if [ -z "${3:-}" ]; then cat "$ptx/k.sass"; rm -rf "$ptx"; return 0; fi
  python3 - "$ptx/k.sass" "$3" "${4:-}" <<'PY'
import collections, re, sys
code = []  # (address, opcode with modifiers, operands)
for line in open(sys.argv[1]):
    m = re.match(r"\s*/\*([0-9a-f]+)\*/\s+(?:@!?U?P\w+\s+)?([A-Z][A-Z0-9_.]*)\s*([^;]*)", line)
    if m:
        code.append((int(m.group(1), 16), m.group(2), m.group(3)))
skip = None
if sys.argv[2] == "loop":
    def target(operands):
        t = re.search(r"0x([0-9a-f]+)", operands)
        return int(t.group(1), 16) if t else None
    loops = [(target(x), a) for a, op, x in code if op == "BRA" and target(x) is not None and target(x) < a]
    loops = [(lo, hi) for lo, hi in loops if any(lo <= a <= hi and op.startswith(("FFMA", "HMMA")) for a, op, _ in code)]
    if not loops:
        sys.exit("kernel-resources: no loop with FFMA or HMMA in this kernel")
    lo, hi = max(loops, key=lambda r: r[1] - r[0])
    body = [c for c in code if lo <= c[0] <= hi]
    # An if/else (BSSY to its join, then a branch to the other side) whose skipped side divides (MUFU.RCP): the
    # data gradient's stride != 1 gather, which a stride-1 conv jumps over.
    for i, (a, op, x) in enumerate(body):
        if op != "BSSY":
            continue
        join = target(x)
        for b, op2, x2 in body[i + 1:i + 4]:
            t = target(x2) if op2 == "BRA" else None
            if t is not None and b < t < join and any(b < c < t and o.startswith("MUFU") for c, o, _ in body):
                skip = (b + 0x10, t - 0x10)
                break
        if skip:
            break
else:
    lo, hi = int(sys.argv[2], 16), int(sys.argv[3], 16)
ops = collections.Counter(op.split(".")[0] for a, op, _ in code
                          if lo <= a <= hi and not (skip and skip[0] <= a <= skip[1]))
where = f"{lo:#x}-{hi:#x}" + (f", without {skip[0]:#x}-{skip[1]:#x} (stride != 1)" if skip else "")
print(f"{sum(ops.values())} instructions ({where}): " + ", ".join(f"{op} {n}" for op, n in ops.most_common()))
PY
  rm -rf "$ptx"
}

case "${1:-}" in
  fetch) fetch ;;
  sass) shift; [ $# = 2 ] || [ $# = 4 ] || { [ $# = 3 ] && [ "$3" = loop ]; } || { sed -n '2,17p' "$0"; exit 2; }
        fetch || exit $?; sass "$@" ;;
  "") fetch || exit $?; check ;;
  *) sed -n '2,17p' "$0"; exit 2 ;;
esac
