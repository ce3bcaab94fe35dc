"""SQLite storage for the server (shell)."""
