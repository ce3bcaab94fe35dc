"""HTTP: the JSON API, live stream and the staff panel (shell)."""
