"""The suite's own markers: a test runs on every cache backend only when marked ``backends``,
and a test that never reaches the test database is marked ``database_independent``."""

import pytest

pytest_plugins = ["pytester"]

EXAMPLES = """
import pytest

def test_plain(backend):
    pass

@pytest.mark.backends
def test_marked(backend):
    pass

@pytest.mark.parametrize("backend", ["redis"], indirect=True)
def test_chooses_its_own(backend):
    pass

def test_with_the_database(database_url):
    pass

def test_without_a_database():
    pass
"""


def collected(pytester: pytest.Pytester, *args: str) -> list[str]:
    pytester.makepyfile(test_examples=EXAMPLES)
    result = pytester.runpytest_inprocess("--collect-only", "-q", "-p", "tests.conftest", *args)
    return sorted(line.split("::")[1] for line in result.outlines if "::" in line)


def test_only_tests_marked_backends_run_on_redis_and_the_cluster(pytester: pytest.Pytester) -> None:
    assert collected(pytester) == [
        "test_chooses_its_own[redis]",
        "test_marked[memory]",
        "test_marked[redis]",
        "test_marked[redis_cluster]",
        "test_plain[memory]",
        "test_with_the_database",
        "test_without_a_database",
    ]


def test_the_postgresql_run_leaves_out_the_tests_without_the_database(pytester: pytest.Pytester) -> None:
    assert collected(pytester, "-m", "not database_independent") == ["test_with_the_database"]
