"""The base of every stack config model."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class ConfigModel(BaseModel):
    # camelCase keys in the YAML, snake_case in Python; unknown keys are errors, not ignored. A
    # field's docstring is its description: the configuration reference is generated from them
    # (config/reference.py).
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        use_attribute_docstrings=True,
    )


# A name that ends up in Docker object names and form values: a shared folder's, a profile's.
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
# A Python identifier as traitlets and environment variables take it.
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
