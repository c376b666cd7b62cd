"""The one static JupyterHub configuration of the hub image.

Nothing here is stack-specific. The Pulumi program renders the validated stack config into
/etc/jupyterhub/settings.json and uploads the secrets into /run/jhub/secrets.json; this file
only maps those two documents onto JupyterHub's traits. Keeping it static means no Python is
ever generated from strings, and the same image serves every stack.
"""

import json
import os
from pathlib import Path

SETTINGS_FILE = Path(os.environ.get("JHUB_SETTINGS_FILE", "/etc/jupyterhub/settings.json"))
SECRETS_FILE = Path(os.environ.get("JHUB_SECRETS_FILE", "/run/jhub/secrets.json"))
DATA_DIR = Path("/srv/jupyterhub/data")

settings = json.loads(SETTINGS_FILE.read_text())
secrets = json.loads(SECRETS_FILE.read_text())

c = get_config()  # type: ignore[name-defined]

# --- hub and proxy -------------------------------------------------------------------------
# The proxy runs in its own container so user traffic keeps flowing while the hub restarts;
# the hub only talks to its REST API.
# An explicit bind URL: with hub_ip alone, JupyterHub 6 binds only the address its connect
# host resolves to, and the container's healthcheck on 127.0.0.1 would never succeed.
c.JupyterHub.hub_bind_url = f"http://0.0.0.0:{settings['hub']['port']}"
c.JupyterHub.hub_connect_url = f"http://{settings['hub']['host']}:{settings['hub']['port']}"
c.ConfigurableHTTPProxy.should_start = False
c.ConfigurableHTTPProxy.api_url = settings["proxy"]["apiUrl"]
c.ConfigurableHTTPProxy.auth_token = secrets["proxyAuthToken"]

# The database and the cookie secret live on the stack's data volume, so logins and users
# survive a restart or a replacement of the hub container.
c.JupyterHub.db_url = f"sqlite:///{DATA_DIR / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(DATA_DIR / "jupyterhub_cookie_secret")
# Stopping the hub must not stop the users' servers.
c.JupyterHub.cleanup_servers = False

# --- authentication ------------------------------------------------------------------------
auth = settings["auth"]
c.Authenticator.admin_users = set(auth["admins"])
c.Authenticator.allowed_users = set(auth["allowedUsers"])
c.Authenticator.allow_all = auth["allowAll"]

if auth["type"] == "shared-password":
    c.JupyterHub.authenticator_class = "shared-password"
    c.SharedPasswordAuthenticator.user_password = secrets["sharedPassword"]
    if secrets.get("adminPassword"):
        c.SharedPasswordAuthenticator.admin_password = secrets["adminPassword"]
elif auth["type"] == "native":
    import nativeauthenticator

    c.JupyterHub.authenticator_class = "native"
    c.JupyterHub.template_paths = [str(Path(nativeauthenticator.__file__).parent / "templates")]
    c.NativeAuthenticator.open_signup = auth["native"]["openSignup"]
    c.NativeAuthenticator.minimum_password_length = auth["native"]["minimumPasswordLength"]
else:
    raise ValueError(f"settings.json: unknown auth.type {auth['type']!r}")

# --- user servers --------------------------------------------------------------------------
spawner = settings["spawner"]
c.JupyterHub.spawner_class = "docker"
c.DockerSpawner.image = spawner["image"]
c.DockerSpawner.network_name = spawner["network"]
c.DockerSpawner.use_internal_ip = True
c.DockerSpawner.prefix = spawner["containerPrefix"]
c.DockerSpawner.name_template = "{prefix}-{username}"
# Containers are disposable; the home volume is what persists.
c.DockerSpawner.remove = True
c.DockerSpawner.notebook_dir = spawner["homeDir"]
# Every object created at run time carries the stack's labels, so `pulumi destroy` can find
# the containers and home volumes it never created itself.
c.DockerSpawner.extra_create_kwargs = {"labels": spawner["labels"]}
c.DockerSpawner.mounts = [
    {
        "type": "volume",
        "source": spawner["volumePrefix"] + "-{username}",
        "target": spawner["homeDir"],
        "labels": spawner["volumeLabels"],
    }
]
c.DockerSpawner.mem_limit = spawner["memLimit"]
c.DockerSpawner.cpu_limit = spawner["cpuLimit"]
c.Spawner.start_timeout = spawner["startTimeout"]
c.Spawner.http_timeout = spawner["startTimeout"]
