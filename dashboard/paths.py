"""Where the dashboard's templates are: in the installed package, or in the source tree.

The wheel ships the top-level ``templates/`` folder as ``dashboard/templates/``
(see pyproject.toml); a checkout, run in place or installed editable, keeps it
beside the package.
"""

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_INSTALLED = _PACKAGE / "templates"

TEMPLATES = str(_INSTALLED if _INSTALLED.is_dir() else _PACKAGE.parent / "templates")
