"""Privacy by design: the data inventory, retention and purging, and the record of processing."""
