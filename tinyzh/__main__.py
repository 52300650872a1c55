"""``python -m tinyzh`` (also what ``torchrun -m tinyzh`` runs)."""

from tinyzh.cli import main

if __name__ == "__main__":
    main()
