"""``python -m lipflow`` and the ``lipflow`` console script.

Ctrl-C while lipflow is still loading (its commands take a tenth of a second to import, before
any command can handle an interrupt) says ``interrupted`` and exits 130, as an interrupted
command does, never with a traceback: the user pressed Ctrl-C, nothing went wrong.

Every import lipflow makes is inside :func:`main`'s guard: this module and the ``lipflow``
package, which Python imports before calling it, import nothing (``sys`` is loaded with Python).
What is left outside is Python's own start (the interpreter, ``site``, the console script's
``import re``) and these two modules binding a few names.
"""

import sys

__all__ = ["main"]

INTERRUPTED = 130  # the shell's code for a command ended by SIGINT (README's exit codes)


def main() -> None:
    try:
        from lipflow.cli import main as run_command

        run_command()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(INTERRUPTED)


if __name__ == "__main__":
    main()
