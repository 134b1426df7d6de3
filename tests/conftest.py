from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from policy.catalog import Catalog
from services.rulesets import load_catalog

settings.register_profile(
    "ci", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=60, deadline=None)
settings.load_profile("ci")


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()
