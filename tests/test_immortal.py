"""Which objects a forked worker can read without copying them, on each Python this machine has:
immortal objects (PEP 683, Python 3.12+) keep a fixed reference count, so reading them writes
nothing. The COW303 rule page states these facts with the versions they hold for; this test
measures them in a real fork, on every interpreter found (the running one, and pyenv's).

Strings interned at run time (``sys.intern``, and what the interpreter interns for itself) were
immortal in 3.12 only: 3.13 made them mortal again, so a worker reading them copies their pages."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import interpreters

MIB = 1 << 20

READ_IN_CHILD = r"""
import gc, os, sys

gc.disable()
kind = sys.argv[1]
if kind == "constant":
    WORDS = ["w0000000" for _ in range(2_000_000)]  # one constant 2,000,000 times: 15 MiB of pointers to it
else:
    WORDS = [sys.intern("w%07d" % i) if kind == "interned" else "w%07d" % i for i in range(200_000)]  # ~11 MiB of strings


def private_dirty():
    with open("/proc/self/smaps_rollup") as rollup:
        return sum(int(line.split()[1]) * 1024 for line in rollup if line.startswith("Private_Dirty:"))


reader, writer = os.pipe()
pid = os.fork()
if pid == 0:
    before = private_dirty()
    total = 0
    for word in WORDS:  # a read: each item's reference count goes up and down, unless it is immortal
        total += len(word)
    os.write(writer, str(private_dirty() - before).encode())
    os._exit(0)
os.waitpid(pid, 0)
print(os.read(reader, 64).decode())
"""


def _copied(python: str, kind: str) -> int:
    done = subprocess.run([python, "-c", READ_IN_CHILD, kind], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return int(done.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/smaps_rollup")
def test_reading_interned_strings_in_a_fork_copies_nothing_on_3_12_only() -> None:
    """200,000 strings read in a forked child: plain strings are copied (~11 MiB) on every
    version; strings interned at run time are immortal on 3.12, so nothing is copied there,
    and mortal again on 3.13 (and before 3.12), so they are copied. A list of one constant
    repeated copies nothing anywhere."""
    measured = {}
    for version, python in sorted(interpreters().items()):
        plain, interned = _copied(python, "plain"), _copied(python, "interned")
        measured[version] = (plain // MIB, interned // MIB)
        assert plain >= 6 * MIB, (version, plain)
        # a list holding one constant (``[None for _ in rows]``, COW303 quiet): reading it writes that
        # one object's count, never the list's own pages, on every version
        assert _copied(python, "constant") <= 1 * MIB, version
        if version == (3, 12):
            assert interned <= 1 * MIB, (version, interned)
        else:
            assert interned >= 6 * MIB, (version, interned)
    assert measured, "no interpreter"
