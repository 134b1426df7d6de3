from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from policy.catalog import Catalog
from services.rulesets import load_catalog

# derandomize: the same examples on every run and in any test order (pytest-randomly shuffles
# and reseeds), so a failure repeats; the example database is not consulted.
settings.register_profile(
    "ci", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow],
    derandomize=True, database=None,
)
settings.register_profile("dev", max_examples=60, deadline=None, derandomize=True,
                          database=None)
settings.load_profile("ci")


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()
