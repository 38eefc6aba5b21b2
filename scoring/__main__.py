"""`python -m scoring` and the `scoring` console script."""

from scoring.faces.process import utf8_mode


def console() -> None:
    # Outside Python's UTF-8 mode the process runs again in it (utf8_mode): asked before the commands'
    # modules are imported, so a GB18030 or Latin-1 terminal imports them once, not twice.
    utf8_mode()
    from scoring.faces.cli import run

    run()


if __name__ == "__main__":
    console()
