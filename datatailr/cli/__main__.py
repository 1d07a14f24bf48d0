"""``python -m datatailr.cli`` is ``dt``."""

from datatailr.cli import main

if __name__ == "__main__":
    main(prog_name="dt")
