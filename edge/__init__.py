"""The edge agent that runs on a site's Raspberry Pi: device links, detector, outbox, publisher (shell around a pure detector)."""
