"""Room and wearable physiology, virtual devices and scenarios for testers (pure core, shell at the edges)."""
