"""`stopframe.lists` installs without the server stack: its modules import with no FastAPI,
SQLAlchemy or Alembic loaded (the `lists` extra is all a consumer needs)."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import stopframe.lists.client, stopframe.lists.store, stopframe.lists.formats
import stopframe.lists.documents, stopframe.lists.signing, stopframe.lists.canonical
import sys
loaded = sorted({m.split('.')[0] for m in sys.modules} & {'fastapi', 'sqlalchemy', 'alembic'})
assert not loaded, loaded
"""


def test_the_list_protocol_imports_without_the_server_stack() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
