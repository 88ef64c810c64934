"""A second, independent app for the cache: a small shop written the way
Flask-SQLAlchemy apps usually are (cascades, backrefs, a many-to-many table,
a counter, mutable JSON, enums, Numeric, tz-aware datetimes, two schemas),
and the tests that compare its cached reads with the database."""
