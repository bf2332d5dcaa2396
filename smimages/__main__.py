"""The smimages command, also `python -m smimages`: the command line, which Ctrl-C ends in one line at any moment."""

import signal
import sys


def main() -> None:
    """Runs the command line; a KeyboardInterrupt (Ctrl-C) while it loads or runs ends it with one line, exit 1."""
    try:
        from .cli import run

        run()
    except KeyboardInterrupt:
        sys.exit("Error: interrupted")
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the command is over: Ctrl-C now would only break its exit


if __name__ == "__main__":
    main()
