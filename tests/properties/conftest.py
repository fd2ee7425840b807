"""Hypothesis profiles of the property tests.

``coupler-properties`` (the default) is derandomized: every run of the suite tries the same examples, so CI never
flickers (Hypothesis then keeps no example database). Set ``COUPLER_PROPERTIES=explore`` to search with fresh random
examples, many more of them, remembering failures in an example database in the temporary directory.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from contextlib import suppress
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.database import DirectoryBasedExampleDatabase

PROFILE = "coupler-properties"

# Hypothesis's pytest plugin imports its patch writer (libcst, which warns at import) when a test fails; with warnings
# as errors that would turn the failure report into an INTERNALERROR that hides the falsifying example.
with warnings.catch_warnings(), suppress(ImportError):
    warnings.simplefilter("ignore", DeprecationWarning)
    import hypothesis.extra._patching  # noqa: F401

settings.register_profile(
    PROFILE,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],  # "explain" takes minutes
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    f"{PROFILE}-explore",
    parent=settings.get_profile(PROFILE),
    derandomize=False,
    database=DirectoryBasedExampleDatabase(Path(tempfile.gettempdir()) / "coupler-hypothesis"),
)


def profile(examples: int) -> settings:
    """The active profile with ``examples`` examples (ten times as many when exploring)."""
    if os.environ.get("COUPLER_PROPERTIES") == "explore":
        return settings(settings.get_profile(f"{PROFILE}-explore"), max_examples=examples * 10)
    return settings(settings.get_profile(PROFILE), max_examples=examples)


@pytest.fixture(scope="session")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A session-wide directory for each example's SQLite files (a function-scoped tmp_path would be shared by all
    of a test's examples)."""
    return tmp_path_factory.mktemp("properties")
