"""The hub's configuration as a function: hub/apply.py on traitlets' Config, mode by mode.

Every trait the function sets is checked against the class it is set on (the real
authenticators and spawner, installed from hub/requirements.txt): a misspelt trait would
otherwise be ignored by JupyterHub without a word. The settings come from the program's own
renderer, so the two sides of the contract are tested together.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dockerspawner import DockerSpawner
from traitlets import HasTraits
from traitlets.config import Config

from config.auth import AuthContext
from config.stack import parse_stack_config
from hub import apply
from hub.contract import Secrets, Settings
from hub.spawners.profiles import StackSpawner
from plan.hub_settings import render_secrets, render_settings
from plan.naming import StackNames

NAMES = StackNames(project="jupyterhub-docker", stack="unit")
CONTEXT = AuthContext(
    allowed_users_from_file=["from-file"], callback_url="https://hub.example.org/hub/oauth_callback"
)
CLASSES: dict[str, str] = {
    "JupyterHub": "jupyterhub.app:JupyterHub",
    "ConfigurableHTTPProxy": "jupyterhub.proxy:ConfigurableHTTPProxy",
    "PeriodicMetricsCollector": "jupyterhub.metrics:PeriodicMetricsCollector",
    "Authenticator": "jupyterhub.auth:Authenticator",
    "Spawner": "jupyterhub.spawner:Spawner",
    "JupyterHubHTTPClient": "jupyterhub.httpclient:JupyterHubHTTPClient",
    "DockerSpawner": "dockerspawner:DockerSpawner",
    "SharedPasswordAuthenticator": "jupyterhub.authenticators.shared:SharedPasswordAuthenticator",
    "NativeAuthenticator": "nativeauthenticator:NativeAuthenticator",
    "FirstUseAuthenticator": "firstuseauthenticator:FirstUseAuthenticator",
    "GitHubOAuthenticator": "oauthenticator.github:GitHubOAuthenticator",
    "GenericOAuthenticator": "oauthenticator.generic:GenericOAuthenticator",
    "LDAPAuthenticator": "ldapauthenticator:LDAPAuthenticator",
    "TmpAuthenticator": "tmpauthenticator:TmpAuthenticator",
}


def _class(name: str) -> type[HasTraits]:
    module, _, attribute = CLASSES[name].partition(":")
    imported = __import__(module, fromlist=[attribute])
    cls: type[HasTraits] = getattr(imported, attribute)
    return cls


def documents(
    raw: dict[str, Any], secret_keys: set[str] | None = None, names: StackNames = NAMES
) -> tuple[Settings, Secrets]:
    config = parse_stack_config(raw, {"auth", "registry"} if secret_keys is None else secret_keys)
    image = f"{names.prefix}-notebook-default:0123"
    settings = render_settings(
        config,
        names,
        notebook_images={"Default": image},
        default_image=image,
        proxy_api_url=f"http://{names.proxy}:8001",
        auth_context=CONTEXT,
        registry=None if not config.registry.enabled else {"server": "localhost:5000", "username": "teacher"},
    )
    tokens = {"proxyAuthToken": "proxy-token", "metricsToken": "metrics", "prestartToken": "prestart"}
    return settings, render_secrets(config, tokens)


def configured(raw: dict[str, Any], names: StackNames = NAMES) -> Config:
    c = Config()
    settings, secrets = documents(raw, names=names)
    apply.configure(c, settings, secrets)
    for class_name, traits in c.items():
        known = _class(class_name).class_trait_names()
        unknown = set(traits) - set(known)
        assert not unknown, f"{class_name} has no traits {sorted(unknown)}"
    return c


SHARED = {"type": "shared-password", "allowAll": True, "password": "long-enough"}


def test_hub_config_the_hub_reaches_the_proxy_and_keeps_its_data_on_the_volume() -> None:
    c = configured({"auth": SHARED})
    assert c.JupyterHub.hub_bind_url == "http://0.0.0.0:8081"
    assert c.JupyterHub.hub_connect_url == "http://jhub-unit-hub:8081"
    assert c.ConfigurableHTTPProxy.should_start is False
    assert c.ConfigurableHTTPProxy.api_url == "http://jhub-unit-proxy:8001"
    assert c.ConfigurableHTTPProxy.auth_token == "proxy-token"
    assert c.JupyterHub.db_url == "sqlite:////srv/jupyterhub/data/jupyterhub.sqlite"
    assert c.JupyterHub.cleanup_servers is False, "stopping the hub must not stop users' servers"
    assert c.JupyterHub.upgrade_db is True, "a newer hub upgrades an older database at start"
    options = c.JupyterHubHTTPClient.connector_options
    assert type(options["resolver"]).__name__ == "SystemResolver" and options["use_dns_cache"] is False


def test_hub_config_shared_password_with_an_admin_password() -> None:
    c = configured({"auth": {**SHARED, "admins": ["teacher"], "adminPassword": "a" * 32}})
    assert c.JupyterHub.authenticator_class == "shared-password"
    assert c.SharedPasswordAuthenticator.user_password == "long-enough"
    assert c.SharedPasswordAuthenticator.admin_password == "a" * 32
    assert c.Authenticator.admin_users == {"teacher"}
    assert c.Authenticator.allowed_users == {"from-file"}
    assert c.Authenticator.allow_all is True


def test_hub_config_native_signup_and_lockout() -> None:
    c = configured({"auth": {"type": "native", "admins": ["boss"], "openSignup": True, "lockoutSeconds": 5}})
    assert c.JupyterHub.authenticator_class == "hub.compat.native.NativeAuthenticator"
    assert c.NativeAuthenticator.open_signup is True
    assert c.NativeAuthenticator.seconds_before_next_try == 5
    # The stack's own pages (hub/templates: 429, admin) first; the two sets share no name.
    assert [Path(p).parts[-2:] for p in c.JupyterHub.template_paths] == [
        ("hub", "templates"),
        ("nativeauthenticator", "templates"),
    ]


def test_hub_config_first_use_keeps_its_passwords_on_the_data_volume() -> None:
    c = configured({"auth": {"type": "firstuse", "allowAll": True, "minimumPasswordLength": 12}})
    assert c.FirstUseAuthenticator.dbm_path == "/srv/jupyterhub/data/firstuse-passwords.dbm"
    assert c.FirstUseAuthenticator.min_password_length == 12


def test_hub_config_github_callback_scopes_and_organisations() -> None:
    auth = {"type": "github", "clientId": "Iv1.abc", "clientSecret": "gh", "allowedOrganizations": ["lab"]}
    c = configured({"auth": auth})
    assert c.GitHubOAuthenticator.client_secret == "gh"
    assert c.GitHubOAuthenticator.oauth_callback_url == CONTEXT.callback_url
    assert c.GitHubOAuthenticator.scope == ["read:user", "read:org"]
    assert c.GitHubOAuthenticator.allowed_organizations == {"lab"}


OIDC = {
    "type": "oidc",
    "clientId": "hub",
    "clientSecret": "oidc-secret",
    "allowedGroups": ["staff"],
    "adminGroups": ["admins"],
}


def test_hub_config_oidc_with_explicit_endpoints_and_groups() -> None:
    endpoints = {
        "authorizeUrl": "https://id.example.org/auth",
        "tokenUrl": "https://id.example.org/token",
        "userinfoUrl": "https://id.example.org/me",
    }
    c = configured({"auth": {**OIDC, **endpoints}})
    assert c.JupyterHub.authenticator_class == "generic-oauth"
    assert c.GenericOAuthenticator.userdata_url == "https://id.example.org/me"
    assert c.GenericOAuthenticator.manage_groups is True
    assert c.GenericOAuthenticator.auth_state_groups_key == "oauth_user.groups"
    assert c.GenericOAuthenticator.admin_groups == {"admins"}


@pytest.fixture
def discovery() -> Iterator[str]:
    """A real HTTP server with a discovery document (the issuer is read when the hub starts)."""
    document = {
        "authorization_endpoint": "https://id.example.org/a",
        "token_endpoint": "https://id.example.org/t",
        "userinfo_endpoint": "https://id.example.org/u",
    }

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = self.path == "/realm/.well-known/openid-configuration"
            body = json.dumps(document if found else {}).encode()
            self.send_response(200 if found else 404)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/realm"
    server.shutdown()


def test_hub_config_oidc_reads_the_issuers_discovery_document(discovery: str) -> None:
    settings, secrets = documents({"auth": {**OIDC, "issuer": "https://id.example.org/realm"}})
    settings["auth"]["oidc"]["issuer"] = discovery  # the config only admits https; this is a test server
    c = Config()
    apply.configure(c, settings, secrets)
    assert (c.GenericOAuthenticator.authorize_url, c.GenericOAuthenticator.token_url) == (
        "https://id.example.org/a",
        "https://id.example.org/t",
    )


def test_hub_config_ldap_lookup_groups_and_the_admin_hook() -> None:
    auth = {
        "type": "ldap",
        "serverAddress": "ldap.example.org",
        "lookup": {"searchBase": "ou=people,dc=x", "searchUser": "cn=reader,dc=x", "searchPassword": "rd"},
        "allowedGroups": ["cn=users,dc=x"],
        "adminGroups": ["cn=admins,dc=x"],
    }
    c = configured({"auth": auth})
    assert c.LDAPAuthenticator.lookup_dn is True
    assert c.LDAPAuthenticator.lookup_dn_search_password == "rd"
    assert c.LDAPAuthenticator.allowed_groups == ["cn=admins,dc=x", "cn=users,dc=x"]
    assert c.LDAPAuthenticator.tls_kwargs["validate"] == 2  # ssl.CERT_REQUIRED
    assert callable(c.Authenticator.post_auth_hook)


def test_hub_config_anonymous_allows_the_generated_users() -> None:
    c = configured({"auth": {"type": "anonymous"}, "demo": True})
    assert c.JupyterHub.authenticator_class == "tmp"
    assert c.TmpAuthenticator.allow_all is True


def test_hub_config_every_auth_type_has_one_applier_and_one_model() -> None:
    from typing import get_args

    from config.auth import AUTH_TYPES, AuthConfig

    assert list(apply.AUTH_APPLIERS) == list(AUTH_TYPES)
    models = get_args(get_args(AuthConfig)[0])
    assert [get_args(model.model_fields["type"].annotation)[0] for model in models] == list(AUTH_TYPES)


class Group:
    def __init__(self, name: str) -> None:
        self.name = name


class User:
    """What the hub's hooks read of a JupyterHub user."""

    def __init__(self, admin: bool, groups: list[str], name: str = "someone") -> None:
        self.admin, self.groups, self.name = admin, [Group(g) for g in groups], name


def test_hub_config_the_spawner_and_the_registry_login() -> None:
    c = configured(
        {"auth": SHARED, "registry": {"enabled": True, "username": "teacher", "password": "reg-pw"}}
    )
    # The boot queue (hub/spawners/throughput.py) wraps the stack's spawner.
    assert issubclass(c.JupyterHub.spawner_class, StackSpawner)
    assert issubclass(StackSpawner, DockerSpawner)
    assert c.DockerSpawner.network_name == "jhub-unit-users"
    assert c.DockerSpawner.extra_create_kwargs == {
        "labels": {
            "org.jupyterhub-docker.project": "jupyterhub-docker",
            "org.jupyterhub-docker.stack": "unit",
            "org.jupyterhub-docker.role": "user-server",
        }
    }
    assert c.Spawner.start_timeout == 120
    logins: list[dict[str, str]] = []

    class Client:
        def login(self, **kwargs: str) -> None:
            logins.append(kwargs)

    class Spawned:
        client = Client()
        name = ""
        user = User(admin=False, groups=[])

    spawned = Spawned()
    c.Spawner.pre_spawn_hook(spawned)
    assert spawned.mounts[0]["source"] == "jhub-unit-home-{username}"  # type: ignore[attr-defined]
    assert logins == [{"username": "teacher", "password": "reg-pw", "registry": "localhost:5000"}]


def test_hub_config_extra_config_is_applied_last() -> None:
    c = configured(
        {
            "auth": SHARED,
            "hub": {
                "extraConfig": {"JupyterHub": {"concurrent_spawn_limit": 3}, "Spawner": {"start_timeout": 30}}
            },
        }
    )
    assert c.JupyterHub.concurrent_spawn_limit == 3
    assert c.Spawner.start_timeout == 30, "the stack's own setting is overridden"


VOLUME: dict[str, Any] = {"volume": {}}


def test_hub_config_shared_folders_are_mounted_read_write_only_for_their_writers() -> None:
    c = configured(
        {
            "auth": SHARED,
            "shared": [
                {
                    "name": "course",
                    "target": "/course",
                    "writers": {"admins": True},
                    "source": {"volume": {}},
                },
                {
                    "name": "group",
                    "target": "/group",
                    "writers": {"groups": ["staff"]},
                    "source": {"volume": {}},
                },
                {"name": "data", "target": "/data", "readOnly": True, "source": {"hostPath": "/srv/data"}},
                {"name": "scratch", "target": "/scratch", "source": VOLUME},
            ],
        }
    )

    class Spawned:
        name = ""

        def __init__(self, user: User) -> None:
            self.user = user
            self.mounts: list[dict[str, Any]] = []

    def writable(user: User) -> dict[str, bool]:
        spawned = Spawned(user)
        c.Spawner.pre_spawn_hook(spawned)
        home, *shared = spawned.mounts
        assert home["source"] == "jhub-unit-home-{username}"
        return {m["target"]: not m["read_only"] for m in shared}

    assert writable(User(admin=False, groups=[])) == {
        "/course": False,
        "/group": False,
        "/data": False,
        "/scratch": True,
    }
    assert writable(User(admin=True, groups=[])) == {
        "/course": True,
        "/group": False,
        "/data": False,
        "/scratch": True,
    }
    assert writable(User(admin=False, groups=["staff"]))["/group"] is True
    # Sources: the stack's volumes by name, a host directory as a bind.
    spawned = Spawned(User(admin=False, groups=[]))
    c.Spawner.pre_spawn_hook(spawned)
    sources = {m["target"]: (m["type"], m["source"]) for m in spawned.mounts[1:]}
    assert sources["/course"] == ("volume", "jhub-unit-shared-course")
    assert sources["/data"] == ("bind", "/srv/data")
    # Every mount is one docker-py accepts, as DockerSpawner passes it.
    from docker.types import Mount

    assert [Mount(**m) for m in spawned.mounts]


def test_hub_config_a_share_password_never_reaches_the_hub() -> None:
    """The hub mounts a CIFS share by its volume's name; the password stays in the volume."""
    cifs = {"server": "files.example.org", "share": "lab", "username": "u", "password": "smb-secret-1"}
    settings, secrets = documents(
        {"auth": SHARED, "shared": [{"name": "g", "target": "/g", "source": {"cifs": cifs}}]},
        secret_keys={"auth", "shared"},
    )
    assert "smb-secret-1" not in json.dumps(settings) + json.dumps(secrets)
    assert settings["shared"][0]["source"] == "jhub-unit-shared-g"


def test_the_documents_the_deployment_completes_are_the_ones_the_hub_is_configured_from() -> None:
    # The plan renders without images and generated tokens; the deployment completes both with
    # plan/hub_settings.py's functions. The result must be what render_* would give with
    # everything known, which is what the tests above configure the hub from.
    from plan.hub_settings import plan_secrets, secrets_document, settings_document

    raw = {"auth": {"type": "shared-password", "password": "long-enough-password", "allowAll": True}}
    settings, secrets = documents(raw)
    config = parse_stack_config(raw, {"auth"})
    planned = render_settings(
        config,
        NAMES,
        notebook_images={},
        default_image="",
        proxy_api_url=f"http://{NAMES.proxy}:8001",
        auth_context=CONTEXT,
        registry=None,
    )
    completed = settings_document(planned, dict(settings["spawner"]["images"]), "Default")
    assert json.loads(completed) == json.loads(json.dumps(settings))
    generated = {"proxyAuthToken": "proxy-token", "metricsToken": "metrics", "prestartToken": "prestart"}
    assert json.loads(secrets_document(plan_secrets(config), generated)) == dict(secrets)
    with pytest.raises(ValueError, match="generated secrets"):
        secrets_document(plan_secrets(config), {"proxyAuthToken": "only-one"})
