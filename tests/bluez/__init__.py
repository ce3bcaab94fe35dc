"""A hardware-free BlueZ stand-in for tests: private D-Bus, patched BlueZoo, emulated wearables."""
