"""The one static JupyterHub configuration of the hub image.

Nothing here is stack-specific: the Pulumi program renders the validated stack config into
settings.json and the secrets into secrets.json (hub/contract.py), and hub/apply.py maps them
onto JupyterHub's traits. The same image serves every stack; no Python is generated.
"""

import os

from hub.apply import configure, load
from hub.contract import SECRETS_FILE, SETTINGS_FILE

c = get_config()  # type: ignore[name-defined]  # noqa: F821 - JupyterHub provides it
settings, secrets = load(
    os.environ.get("JHUB_SETTINGS_FILE", SETTINGS_FILE), os.environ.get("JHUB_SECRETS_FILE", SECRETS_FILE)
)
configure(c, settings, secrets)
