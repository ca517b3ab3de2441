"""`make test` sends the tests that share an expensive fixture to one pytest-xdist worker (tests/conftest.py): checked
from inside a worker, where the group shows in the test's id (pytest 9.2 or a hook run after pytest-xdist's lost it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="module")
def built_once_per_module() -> Iterator[str]:
    yield "built"


def test_a_test_using_a_module_scoped_fixture_is_grouped_with_its_module(
    request: pytest.FixtureRequest, built_once_per_module: str
) -> None:
    if not getattr(request.config.option, "loadgroup", False):
        pytest.skip("only on pytest-xdist workers with --dist loadgroup (make test)")
    assert built_once_per_module == "built"
    assert request.node.nodeid.endswith("@tests/test_test_groups.py"), request.node.nodeid
