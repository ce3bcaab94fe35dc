"""Sub-commands of ``odart``, one module each (shell)."""
