#!/bin/bash
# docs/results.md section 3: the maze2d-umaze ablations (3 seeds each, TD3+BC, 20,000 steps, train-agent --preset
# cpu), one sweep per axis, in order of interest. Run from the directory holding the quickstart's qs-umaze
# (`dydiff quickstart --seeds 5 --out qs-umaze`); resumable (run it again). Usage: bash umaze_ablation.sh JOBS;
# DYDIFF=path/to/dydiff if it is not ./build/dydiff/cli/dydiff.
set -u
D=${DYDIFF:-./build/dydiff/cli/dydiff}
JOBS=${1:-1}
G=$(dirname "$0")/grids
for axis in m controls filter ratio length keep; do
  $D sweep "$G/umaze_ablation_$axis.toml" --jobs "$JOBS" || exit 1
done
$D stats qs-umaze/td3bc-* ablation-umaze/umaze/* > ablation-umaze/all_stats.md
