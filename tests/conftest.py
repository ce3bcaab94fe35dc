"""Suite-wide settings: Hypothesis profiles tuned for a loaded 2-core CI machine."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# Timing health checks measure the machine, not our code: CI shares two cores with a broker,
# a server and a browser, so only behaviour is checked here (speed lives in benchmarks).
settings.register_profile(
    "odart", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=100
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "odart"))
