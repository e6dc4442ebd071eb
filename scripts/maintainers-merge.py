#!/usr/bin/env python3
"""maintainers-merge.py BASE ENTRY: print BASE's MAINTAINERS with the entry
in ENTRY (this tree's MAINTAINERS) in its alphabetical place, replacing an
entry of the same title."""
import re
import sys

base = open(sys.argv[1]).read().split("\n")
entry = open(sys.argv[2]).read().rstrip("\n").split("\n")
title = entry[0]
is_field = re.compile(r"^[A-Z]:\t")


def is_title(i):
    return (base[i] and not is_field.match(base[i]) and i + 1 < len(base)
            and is_field.match(base[i + 1]) and (i == 0 or base[i - 1] == ""))


# Entries start at the first title after the preface; ours goes before the
# smallest title that sorts after it (the file is only nearly sorted).
start = next(i for i in range(len(base)) if base[i].startswith("3C59X NETWORK DRIVER"))
titles = [i for i in range(start, len(base)) if is_title(i)]
later = [i for i in titles if base[i].upper() > title.upper()]
where = min(later, key=lambda i: base[i].upper()) if later else len(base)
out, i = [], 0
while i < len(base):
    if base[i] == title and i in titles:
        while i < len(base) and base[i] != "":
            i += 1
        i += 1
        continue
    if i == where:
        out.extend(entry + [""])
    out.append(base[i])
    i += 1
print("\n".join(out), end="")
