"""The edge agent that runs on a site's Raspberry Pi (shell around a pure detector).

Device links, the detector, the check-in with the wearer, consent, the outbox and the publisher.
"""
