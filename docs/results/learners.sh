#!/bin/bash
# docs/results.md section 1: 5 learners x 5 built-in datasets x 3 seeds, 10,000 gradient steps (CQL 2,000, Diffusion-QL
# 5,000). Resumable: an existing run is resumed (a finished run does nothing). Usage: bash docs/results/learners.sh JOBS
# from the directory that gets data/, runs/ and logs/; DYDIFF=path/to/dydiff if it is not ./build/dydiff/cli/dydiff.
set -u
D=${DYDIFF:-./build/dydiff/cli/dydiff}
JOBS=${1:-1}
mkdir -p data runs logs
[ -f data/pendulum-medium.npz ] || $D dataset generate --env pendulum --kind medium --seed 0 --out data/pendulum-medium.npz
[ -f data/pendulum-medium-replay.npz ] || $D dataset generate --env pendulum --kind medium-replay --seed 0 --out data/pendulum-medium-replay.npz
for m in umaze medium large; do
  [ -f data/maze2d-$m.npz ] || $D dataset generate --env maze2d-$m --seed 0 --out data/maze2d-$m.npz
done
steps_of() { case $1 in cql) echo 2000;; diffql) echo 5000;; *) echo 10000;; esac; }
every_of() { case $1 in cql) echo 1000;; *) echo 2500;; esac; }
cmds=()
for algo in bc td3bc iql diffql cql; do
  for data in pendulum-medium pendulum-medium-replay maze2d-umaze maze2d-medium maze2d-large; do
    for seed in 0 1 2; do
      run=runs/$algo-$data-s$seed
      if [ -f $run/config.toml ]; then
        cmds+=("$D train-agent --out $run --resume --threads 1 > logs/$algo-$data-s$seed.log 2>&1")
      else
        cmds+=("$D train-agent data/$data.npz --algo $algo --out $run --seed $seed --set steps=$(steps_of $algo) --set eval_every=$(every_of $algo) --set eval_episodes=10 --threads 1 > logs/$algo-$data-s$seed.log 2>&1")
      fi
    done
  done
done
printf '%s\n' "${cmds[@]}" | xargs -P "$JOBS" -I{} sh -c '{}'
$D stats runs/* > stats.md
