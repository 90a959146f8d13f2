"""The ``glm`` command."""
