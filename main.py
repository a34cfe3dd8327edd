"""Run CSGN Studio from a checkout: ``python main.py`` (the same as the ``csgn-studio`` command)."""
from app.main import main

if __name__ == "__main__":
    raise SystemExit(main())
