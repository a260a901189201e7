#!/usr/bin/env python3
"""Build step: writes a C file defining `const char NAME[]` with the bytes of a file (the Redis
FUNCTION library, so the binary carries the exact code it loads).
Usage: embed.py INPUT OUTPUT.c NAME"""
import sys

src, out, name = sys.argv[1:4]
data = open(src, "rb").read()
with open(out, "w") as f:
    f.write("/* Generated from %s by scripts/embed.py: do not edit. */\n" % src.split("/")[-1])
    f.write("#include <stddef.h>\nconst char %s[] =\n" % name)
    for i in range(0, len(data), 64):
        f.write('    "' + "".join("\\x%02x" % b for b in data[i:i + 64]) + '"\n')
    f.write(";\nconst size_t %s_len = %d;\n" % (name, len(data)))
