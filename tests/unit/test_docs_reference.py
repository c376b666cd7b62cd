"""The documented config cannot drift from the models: every key the models accept is
documented (in the reference or the how-to pages on configuring a stack), and every key the
reference table names exists."""

from __future__ import annotations

import re

from pydantic import BaseModel

from config.reference import MARKER, reference_tables, undocumented
from config.stack import StackConfig, _leaf_types
from tests.deployers import PROJECT_DIR

DOCS = PROJECT_DIR / "docs"
# The reference table, and the how-to pages that document the settings of their topic.
CONFIG_PAGES = (
    "reference/configuration.md",
    "how-to/authentication.md",
    "how-to/tls.md",
    "how-to/images.md",
    "how-to/registry.md",
    "how-to/offline.md",
    "how-to/shared-folders.md",
    "how-to/classes.md",
)
# The reference page shows the tables generated from the models where its marker is.
REFERENCE = reference_tables()
CHAPTER = "\n".join((DOCS / page).read_text() for page in CONFIG_PAGES).replace(MARKER, REFERENCE)


def model_keys(model: type[BaseModel], prefix: str = "") -> dict[str, bool]:
    """Every config path the models accept -> whether it holds settings of its own (a map)."""
    keys: dict[str, bool] = {}
    for name, field in model.model_fields.items():
        path = f"{prefix}{field.alias or name}"
        nested = [
            t for t in _leaf_types(field.annotation) if isinstance(t, type) and issubclass(t, BaseModel)
        ]
        keys[path] = bool(nested)
        for sub in nested:
            keys.update(model_keys(sub, path + "."))
    return keys


KEYS = model_keys(StackConfig)


def table_keys() -> list[str]:
    """The keys in the first column of the reference table (`.x` continues the previous key)."""
    table = REFERENCE.split("\n\n", 1)[0]
    found: list[str] = []
    for row in table.splitlines()[2:]:
        previous = ""
        for token in re.findall(r"`([^`]+)`", row.split("|")[1]):
            key = previous.rsplit(".", 1)[0] + token if token.startswith(".") else token
            found.append(key.replace("[]", ""))
            previous = key
    return found


def documented(path: str) -> bool:
    """Named in full (in the table, or in the text), or by its last part where its parent is
    documented (the auth modes' settings, an image entry's `name`, a build's `context`)."""
    if f"`{path}`" in CHAPTER or path in table_keys():
        return True
    parent, _, last = path.rpartition(".")
    return bool(parent) and f"`{last}`" in CHAPTER and documented(parent)


def test_every_key_the_models_accept_is_documented() -> None:
    missing = [path for path, nested in KEYS.items() if not nested and not documented(path)]
    assert missing == []


def test_every_key_the_reference_table_names_exists() -> None:
    unknown = [key for key in table_keys() if key not in KEYS]
    assert unknown == []
    assert len(table_keys()) > 30


def test_every_page_the_readme_links_to_exists() -> None:
    # The site's build checks the links between its pages (mkdocs.yml, strict); the README is
    # read on its own, outside the site, and points into it.
    readme = (PROJECT_DIR / "README.md").read_text()
    targets = [t for t in re.findall(r"\]\(([^)#]+)\)", readme) if "://" not in t]
    assert len(targets) > 10
    missing = [t for t in targets if not (PROJECT_DIR / t).is_file()]
    assert missing == []
    assert len(readme.splitlines()) <= 250


def test_the_authentication_page_lists_every_login_mode_in_order() -> None:
    from config.auth import AUTH_TYPES

    page = (DOCS / "how-to/authentication.md").read_text()
    table = page[page.index("| mode | for |") :].split("\n\n", 1)[0]
    modes = [re.findall(r"`([^`]+)`", row.split("|")[1])[0] for row in table.splitlines()[2:]]
    assert modes == list(AUTH_TYPES)


def test_the_reference_page_shows_the_generated_tables_and_every_key_has_a_meaning() -> None:
    assert MARKER in (DOCS / "reference/configuration.md").read_text()
    assert undocumented() == []
    # The defaults are the models': a changed default changes the page.
    assert "| `spawner.memLimit` | `2G` |" in REFERENCE
    assert "| `auth.password`* | required |" in REFERENCE
