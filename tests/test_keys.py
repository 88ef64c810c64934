"""The key grammar."""

import datetime
import decimal

import pytest

from caching import keys


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (4, "4"),
        (None, "None"),
        ("None", "%4Eone"),
        (True, "True"),
        (2.5, "2.5"),
        (decimal.Decimal("3.50"), "3.5"),
        (decimal.Decimal("100"), "100"),
        ("a@b.org", "a@b.org"),
        ("x&y=z[1] %", "x%26y%3Dz%5B1%5D%20%25"),
        (datetime.datetime(2024, 1, 2, 3, 4, 5), "2024-01-02T03:04:05"),
        (
            datetime.datetime(2024, 1, 2, 5, 4, 5, tzinfo=datetime.timezone(datetime.timedelta(hours=2))),
            "2024-01-02T03:04:05+00:00",
        ),
    ],
)
def test_values_render_canonically(value, text):
    assert keys.render(value) == text


def test_key_shapes():
    assert keys.object_key("user", "id", 4) == "user.id[4]"
    assert keys.all_key("user", "id") == "user.id[all]"
    assert keys.listing_key("user", {"views": 3}) == "user.views=3[all]"
    assert (
        keys.listing_key("address", {"user_id": 4, "email": "a@b.org"})
        == "address.email=a@b.org&user_id=4[all]"
    )
    assert keys.with_guards(["user.id[4]"]) == ["user.id[4]", "gen:user.id[4]"]
