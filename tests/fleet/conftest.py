"""The fleet tests' settings: a secret key, so the OCPI Token C can be stored (encrypted)."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from app.config import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The page under test, with a secret key (a test value, not a real secret)."""
    return settings.model_copy(update={"secret_key": SecretStr("fleet-tests-key-" + "x" * 32)})
