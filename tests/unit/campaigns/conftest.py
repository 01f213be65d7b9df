from __future__ import annotations

from pathlib import Path

import pytest
from tests.unit.campaigns.support import make_templates


@pytest.fixture(scope="session")
def templates_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A templates folder with one template per channel and some incomplete ones."""
    return make_templates(tmp_path_factory.mktemp("templates"))
