"""The ``odart`` command line: the composition root that may import every other package (shell)."""

__all__: list[str] = []
