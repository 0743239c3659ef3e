#!/usr/bin/env python3
"""Python's standard tomllib reads what dydiff writes, to the values dydiff meant.

1. toml_fixture writes a config.toml of every field type with awkward values and expected.txt, the same values
   without TOML; every key must read back exactly (float32 fields: the value rounded to float32).
2. `dydiff config show` of every config-driven command and preset parses, with known defaults.
3. A real run's config.toml parses; its [run] table records the command, the argv and the dataset's SHA-256,
   which must equal hashlib's.

Usage: check_tomllib.py TOML_FIXTURE DYDIFF. Exits 77 (meson: skipped) when tomllib is missing (Python < 3.11).
"""
import hashlib
import math
import os
import struct
import subprocess
import sys
import tempfile

try:
    import tomllib
except ImportError:
    print("tomllib is missing (Python >= 3.11 has it): skipped")
    sys.exit(77)


def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def from_hex(word):
    if word in ("inf", "-inf", "nan"):
        return float(word)
    return float.fromhex(word)


def text_of(word):
    assert word.startswith("x"), word
    return bytes.fromhex(word[1:]).decode("utf-8")


def lookup(doc, key):
    for part in key.split("."):
        doc = doc[part]
    return doc


def same_float(a, b):
    if math.isnan(b):
        return math.isnan(a)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def check_fixture(fixture, work):
    subprocess.run([fixture, work], check=True)
    with open(os.path.join(work, "config.toml"), "rb") as f:
        doc = tomllib.load(f)
    failures = []
    keys = 0
    with open(os.path.join(work, "expected.txt")) as f:
        for line in f:
            key, kind, *words = line.split()
            got = lookup(doc, key)
            keys += 1
            if kind == "f32":
                ok = isinstance(got, float) and same_float(f32(got), from_hex(words[0]))
            elif kind == "f64":
                ok = isinstance(got, float) and same_float(got, from_hex(words[0]))
            elif kind == "int":
                ok = isinstance(got, int) and not isinstance(got, bool) and got == int(words[0])
            elif kind == "bool":
                ok = got is (words[0] == "true")
            elif kind == "str":
                ok = got == text_of(words[0])
            elif kind == "f32_list":
                ok = len(got) == len(words) and all(same_float(f32(g), from_hex(w)) for g, w in zip(got, words))
            elif kind == "int_list":
                ok = got == [int(w) for w in words]
            elif kind == "str_list":
                ok = got == [text_of(w) for w in words]
            else:
                raise ValueError(kind)
            if not ok:
                failures.append(f"{key}: tomllib read {got!r}, expected {kind} {words}")
    return keys, failures


def check_commands(dydiff, work):
    failures = []
    expected = {
        ("train-diffusion", ""): {"lr": 0.001, "horizon": 32, "unet.dim": 16, "unet.dim_mults": [1, 2, 4],
                                  "edm.sigma_data": 0.5},
        ("train-diffusion", "small"): {"horizon": 64, "unet.dim": 32, "steps": 20000},
        ("train-diffusion", "paper"): {"horizon": 100, "unet.dim_mults": [1, 4, 8], "batch": 8},
        ("train-dynamics", ""): {"members": 7, "activation": "silu", "weight_decay": [2.5e-05, 5e-05, 7.5e-05,
                                                                                      7.5e-05, 0.0001]},
        ("train-reward", ""): {"hidden": 256, "holdout_fraction": 0.2},
        ("rollout-error", ""): {"policy": "auto", "sampler.num_steps": 34, "sampler.S_noise": 1.002},
    }
    for (command, preset), values in expected.items():
        argv = [dydiff, "config", "show", command] + (["--preset", preset] if preset else [])
        doc = tomllib.loads(subprocess.run(argv, check=True, capture_output=True, text=True).stdout)
        for key, value in values.items():
            got = lookup(doc, key)
            if isinstance(value, float):
                good = isinstance(got, float) and f32(got) == f32(value)
            elif isinstance(value, list) and value and isinstance(value[0], float):
                good = [f32(g) for g in got] == [f32(v) for v in value]
            else:
                good = got == value
            if not good:
                failures.append(f"config show {command} {preset}: {key} = {got!r}, expected {value!r}")
    # A real run.
    data = os.path.join(work, "data.npz")
    run = os.path.join(work, "run")
    subprocess.run([dydiff, "dataset", "generate", "--env", "maze2d-umaze", "--steps", "2000", "--out", data],
                   check=True, capture_output=True)
    subprocess.run([dydiff, "train-reward", data, "--out", run, "--set", "max_epochs=1", "--set", "batch=512"],
                   check=True, capture_output=True)
    with open(os.path.join(run, "config.toml"), "rb") as f:
        doc = tomllib.load(f)
    with open(data, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    checks = {"max_epochs": 1, "batch": 512, "run.command": "train-reward", "run.dataset": data,
              "run.dataset_sha256": sha, "run.argv": ["train-reward", data, "--out", run, "--set", "max_epochs=1", "--set",
                                                      "batch=512"], "run.resumed": ""}
    for key, value in checks.items():
        if lookup(doc, key) != value:
            failures.append(f"run config.toml: {key} = {lookup(doc, key)!r}, expected {value!r}")
    return failures


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    fixture, dydiff = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as work:
        keys, failures = check_fixture(fixture, work)
        failures += check_commands(dydiff, work)
    for f in failures:
        print("FAIL", f)
    print(f"tomllib read {keys} fixture keys, 6 `config show` files and a run's config.toml: "
          f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
