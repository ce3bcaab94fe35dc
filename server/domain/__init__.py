"""The server's pure core: alert records and the wording of pushes (no I/O)."""
