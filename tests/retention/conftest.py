"""The casework world (one person per role, a case factory) for the retention tests."""

from tests.cases.conftest import world  # noqa: F401 - a fixture, re-exported
