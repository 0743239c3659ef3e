#!/usr/bin/env python3
"""Writes a C++ source that embeds MJCF files as string constants (dydiff/envs/mjcf_models.hpp declares them).

Usage: embed_mjcf.py OUT.cpp NAME=FILE.xml [NAME=FILE.xml ...]
Run by Meson at build time (dydiff/meson.build), so the `dydiff` executable finds its models without a path.
"""
import sys


def main(argv):
    if len(argv) < 3:
        sys.exit("usage: embed_mjcf.py OUT.cpp NAME=FILE.xml [NAME=FILE.xml ...]")
    out_path, pairs = argv[1], argv[2:]
    entries = []
    for pair in pairs:
        name, sep, path = pair.partition("=")
        if not sep or not name:
            sys.exit(f"embed_mjcf.py: argument '{pair}' is not NAME=FILE.xml")
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if ")mjcf\"" in text:
            sys.exit(f"embed_mjcf.py: {path} contains the raw-string delimiter )mjcf\"")
        entries.append((name, text))
    lines = [
        "// Generated at build time by dydiff/envs/mjcf/embed_mjcf.py from dydiff/envs/mjcf/*.xml; edit those files.",
        '#include "dydiff/envs/mjcf_models.hpp"',
        "",
        "namespace dydiff::envs {",
        "",
        "const std::vector<MjcfFile>& embedded_mjcf_files() {",
        "    static const std::vector<MjcfFile> files{",
    ]
    for name, text in entries:
        lines.append(f'        {{"{name}", R"mjcf({text})mjcf"}},')
    lines += ["    };", "    return files;", "}", "", "}  // namespace dydiff::envs", ""]
    with open(out_path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv)
