"""``python -m glmkit`` runs the ``glm`` command (handy where the script is not on PATH)."""

from glmkit.cli.app import main

if __name__ == "__main__":
    main()
