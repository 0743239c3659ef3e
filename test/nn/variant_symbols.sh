#!/bin/sh
# The library of a run-time instruction-set variant (nn/meson.build: dydiff_simd_avx512) must not define a symbol the
# linker could merge with a baseline one. Every inline function or template instantiation is a weak symbol; compiled
# in two translation units with different -m flags, the linker keeps one copy for every caller, possibly the AVX-512
# one, which then faults on a CPU without AVX-512 (nn/simd/gemm_kernel.hpp, NOTE). So every weak or unique symbol
# the variant defines must name its set (e.g. a template on the avx512f batch), and the variant must have no
# static initialiser (code that would run before the CPU check).
# Usage: variant_symbols.sh NM LIBRARY SET   (exit 0: clean, 1: a shared symbol or an initialiser, 77: no nm)
nm=$1 lib=$2 set=$3
command -v "$nm" >/dev/null 2>&1 || { echo "variant_symbols: skipped: no $nm"; exit 77; }
symbols=$("$nm" -C --defined-only "$lib") || { echo "variant_symbols: $nm cannot read $lib"; exit 1; }
[ -n "$symbols" ] || { echo "variant_symbols: $lib defines no symbol"; exit 1; }
# Weak (W, V) and unique (u) definitions, demangled; DW.ref.__gxx_personality_v0 is the exception-handling
# personality pointer every C++ object carries, data shared by design.
shared=$(echo "$symbols" | awk '$2 ~ /^[WVu]$/' | cut -d' ' -f3- | grep -v -e "$set" \
         -e '^DW\.ref\.__gxx_personality_v0$')
status=0
if [ -n "$shared" ]; then
  echo "variant_symbols: $lib defines symbols that do not name $set, which the linker may merge with baseline code:"
  echo "$shared"
  status=1
fi
if "$nm" "$lib" | grep -q -e '_GLOBAL__sub_I' -e '_GLOBAL__I_'; then
  echo "variant_symbols: $lib has a static initialiser, which would run before the CPU check"
  status=1
fi
[ $status -eq 0 ] && echo "variant_symbols: $lib: every weak symbol names $set, no static initialiser"
exit $status
