"""Which keys saving an edit would flush, before the save."""

from dashboard.preview import keys_for_update
from tests.models import User, db


def test_preview_lists_what_the_commit_then_flushes(users, invalidations):
    user = db.session.get(User, 4)
    preview = keys_for_update(user, {"views": "5", "email": user.email})
    # listings hold rows: every listing user 4 is in, before and after
    assert set(preview) == {
        "user.id[4]",
        "user.id[all]",
        "user.views=3[all]",
        "user.views=5[all]",
        "user.username=user4[all]",
        "user.email=user4@example.org[all]",
    }
    user.views = 5
    db.session.commit()
    assert set(invalidations[0]["keys"]) == set(preview)


def test_no_change_no_keys_and_bad_values_are_ignored(users):
    user = db.session.get(User, 4)
    assert keys_for_update(user, {"views": 3}) == []
    assert keys_for_update(user, {"views": "lots"}) == []
    assert keys_for_update(user, {"not_a_column": 1}) == []
