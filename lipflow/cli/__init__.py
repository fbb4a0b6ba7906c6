"""lipflow's command line: parse (:mod:`.commands`), build (:mod:`.build`), execute (the library);
the environment is read in :mod:`.environment` and nowhere else.

The cyclic garbage collector is paused while the commands import: start-up creates thousands of
objects that live until exit (modules, classes, functions), and each collection during it walked
them all again for nothing. :func:`main` then freezes them (:func:`gc.freeze`), so no later
collection walks them either, nor the one at exit. Together about 50 ms of CPU of a 0.43 s
``lipflow validate`` (benchmarks/startup.py).
"""

from __future__ import annotations

import gc

_collecting = gc.isenabled()
gc.disable()
try:
    from lipflow.cli.commands import cli, main
finally:
    if _collecting:
        gc.enable()

__all__ = ["cli", "main"]
