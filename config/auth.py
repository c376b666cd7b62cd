"""How users log in (`auth` in the stack config): one model per authenticator.

An auth mode is one model here and one applier in hub/apply.py (`AUTH_APPLIERS`, keyed by the
same `type`). The model validates the settings its authenticator needs, renders them for the
hub (`hub_settings`, nothing secret) and hands over its secrets (`hub_secrets`: its `SecretStr`
fields, which must be set with `pulumi config set --secret --path auth.<key>`). Usernames are
normalised the way JupyterHub's authenticators do it (lower case), so a listed name always
matches a login.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal, get_args
from urllib.parse import urlparse

from pydantic import AfterValidator, Field, SecretStr, model_validator

from config.base import ConfigModel
from hub.contract import AUTH_CA_FILE, AuthSettings, AuthType

# The one list of login modes is the contract's `AuthType`: the hub's appliers are keyed by it,
# each model below declares one of them as its `type`, and the docs' table lists them in this
# order (tests/unit/test_hub_config.py and test_docs_reference.py hold the three to it).
AUTH_TYPES: tuple[str, ...] = get_args(AuthType)


@dataclass(frozen=True)
class AuthContext:
    """What a mode's hub settings need besides its own config."""

    allowed_users_from_file: list[str]  # auth.allowedUsersFile, read by the plan step
    callback_url: str  # <public url>hub/oauth_callback


_Model = ConfigModel


class _AuthMode(_Model):
    """What every mode answers, so nothing outside this module asks which mode it is."""

    type: AuthType

    @property
    def admin_names(self) -> list[str]:
        return []

    @property
    def users_file(self) -> str | None:
        """auth.allowedUsersFile, where the mode has one."""
        return None

    @property
    def ca_file(self) -> str | None:
        """auth.caCertificatesFile, where the mode talks to an identity server."""
        return None

    @property
    def start_allowance_seconds(self) -> int:
        """Extra time the hub may need to start (reading a discovery document)."""
        return 0

    @property
    def demo_only(self) -> bool:
        return False

    @property
    def lists_users(self) -> bool:
        """Whether the stack names its users (auth.allowedUsers or auth.allowedUsersFile)."""
        return False

    def hub_settings(self, context: AuthContext) -> AuthSettings:
        return {"type": self.type}

    def hub_secrets(self) -> dict[str, str]:
        return {}


def _username(name: str) -> str:
    normalised = name.strip().lower()
    if not normalised:
        raise ValueError("usernames must not be empty")
    return normalised


Username = Annotated[str, AfterValidator(_username)]


def _min_length(minimum: int) -> AfterValidator:
    def check(value: SecretStr) -> SecretStr:
        length = len(value.get_secret_value())
        if length < minimum:
            raise ValueError(f"must be at least {minimum} characters long, got {length} characters")
        return value

    return AfterValidator(check)


def _https_url(value: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme != "https" or not parsed.netloc:
        raise ValueError("must be an https:// URL")
    return value.rstrip("/")


HttpsUrl = Annotated[str, AfterValidator(_https_url)]


class _AuthCommon(_AuthMode):
    admins: tuple[Username, ...] = ()
    """Usernames who are admins, lower-cased the way JupyterHub does it."""
    allowed_users: tuple[Username, ...] = ()
    """Usernames who may log in."""
    # A file of usernames, one per line (the tutorials' `userlist`), relative to the project.
    allowed_users_file: str | None = None
    """A file of usernames, one per line (`#` starts a comment), relative to the project directory."""
    # JupyterHub refuses everyone who is not allowed unless this is set explicitly.
    allow_all: bool = False
    """Admit everyone who can authenticate: the explicit choice."""

    def _grants_access(self) -> bool:
        """Whether some setting other than allowAll and the user lists admits users."""
        return False

    @property
    def admin_names(self) -> list[str]:
        return sorted(self.admins)

    @property
    def users_file(self) -> str | None:
        return self.allowed_users_file

    @property
    def lists_users(self) -> bool:
        return bool(self.allowed_users or self.allowed_users_file)

    def hub_settings(self, context: AuthContext) -> AuthSettings:
        return {
            "type": self.type,
            "admins": sorted(self.admins),
            "allowedUsers": sorted(set(self.allowed_users) | set(context.allowed_users_from_file)),
            "allowAll": self.allow_all,
        }

    @model_validator(mode="after")
    def _someone_can_log_in(self) -> _AuthCommon:
        if not (
            self.allow_all
            or self.allowed_users
            or self.allowed_users_file
            or self.admins
            or self._grants_access()
        ):
            raise ValueError(
                "nobody could log in: set auth.allowedUsers (or auth.allowedUsersFile), "
                "or auth.allowAll: true to admit everyone who can authenticate"
            )
        return self


class _IdentityServerAuth(_AuthCommon):
    """Settings shared by the modes that ask an identity server (OIDC provider, directory)."""

    # Group names (OIDC) or group DNs (LDAP): members of allowedGroups get in, members of
    # adminGroups get in and are admins.
    allowed_groups: tuple[str, ...] = ()
    """Groups whose members may log in (OIDC: claim values; LDAP: group DNs)."""
    admin_groups: tuple[str, ...] = ()
    """Groups whose members are admins."""
    # A PEM file of CA certificates the hub trusts for this server (a private CA).
    ca_certificates_file: str | None = None
    """PEM file of a private CA the identity server's certificate comes from; trusted for it only."""

    def _grants_access(self) -> bool:
        return bool(self.allowed_groups or self.admin_groups)

    @property
    def ca_file(self) -> str | None:
        return self.ca_certificates_file

    @property
    def _hub_ca_file(self) -> str | None:
        """Where the hub finds the CA, when the stack gives one (uploaded by the Hub)."""
        return AUTH_CA_FILE if self.ca_certificates_file else None


class SharedPasswordAuth(_AuthCommon):
    """JupyterHub's SharedPasswordAuthenticator: one password for a workshop."""

    type: Literal["shared-password"]
    # The limits the authenticator itself enforces, checked here at preview.
    password: Annotated[SecretStr, _min_length(8)]
    """The shared password, 8 characters or more."""
    admin_password: Annotated[SecretStr, _min_length(32)] | None = None
    """The admins' password, 32 characters or more; required when `admins` is set."""

    @model_validator(mode="after")
    def _admins_need_admin_password(self) -> SharedPasswordAuth:
        if self.admins and self.admin_password is None:
            raise ValueError(
                "auth.admins is set but auth.adminPassword is not, so admins could not log in: "
                "run `pulumi config set --secret --path auth.adminPassword <32+ characters>`"
            )
        if (
            self.admin_password is not None
            and self.admin_password.get_secret_value() == self.password.get_secret_value()
        ):
            raise ValueError("auth.adminPassword must differ from auth.password")
        return self

    def hub_secrets(self) -> dict[str, str]:
        secrets = {"sharedPassword": self.password.get_secret_value()}
        if self.admin_password is not None:
            secrets["adminPassword"] = self.admin_password.get_secret_value()
        return secrets


class NativeAuth(_AuthCommon):
    """NativeAuthenticator: users sign up, an admin approves them."""

    type: Literal["native"]
    signup: bool = True
    """People sign up at `/hub/signup`."""
    open_signup: bool = False
    """Approve everyone who signs up (otherwise an admin does, at `/hub/authorize`)."""
    minimum_password_length: int = Field(default=8, ge=1, le=128)
    """The shortest password accepted."""
    # Lock an account for lockoutSeconds after this many failed logins (0: never).
    allowed_failed_logins: int = Field(default=5, ge=0, le=1000)
    """Wrong passwords before an account is locked (`0`: never)."""
    lockout_seconds: int = Field(default=600, ge=1, le=86400)
    """How long a locked account stays locked."""

    def hub_settings(self, context: AuthContext) -> AuthSettings:
        return {
            **super().hub_settings(context),
            "native": {
                "signup": self.signup,
                "openSignup": self.open_signup,
                "minimumPasswordLength": self.minimum_password_length,
                "allowedFailedLogins": self.allowed_failed_logins,
                "lockoutSeconds": self.lockout_seconds,
            },
        }


class FirstUseAuth(_AuthCommon):
    """FirstUseAuthenticator: the first login sets the user's password."""

    type: Literal["firstuse"]
    minimum_password_length: int = Field(default=8, ge=1, le=128)
    """The shortest password the first login may set."""

    def hub_settings(self, context: AuthContext) -> AuthSettings:
        return {
            **super().hub_settings(context),
            "firstuse": {"minimumPasswordLength": self.minimum_password_length},
        }


class GitHubAuth(_AuthCommon):
    """OAuthenticator's GitHubOAuthenticator."""

    type: Literal["github"]
    client_id: str = Field(min_length=1)
    """The GitHub OAuth app's client ID."""
    client_secret: SecretStr
    """Its client secret."""
    # "org" or "org:team"; checking them needs the read:org scope, which is then requested.
    allowed_organizations: tuple[str, ...] = ()
    """Organizations (`org`) or teams (`org:team`) whose members may log in; asks for `read:org`."""

    def _grants_access(self) -> bool:
        return bool(self.allowed_organizations)

    @property
    def scopes(self) -> list[str]:
        return ["read:user", "read:org"] if self.allowed_organizations else ["read:user"]

    def hub_settings(self, context: AuthContext) -> AuthSettings:
        return {
            **super().hub_settings(context),
            "github": {
                "clientId": self.client_id,
                "callbackUrl": context.callback_url,
                "allowedOrganizations": sorted(self.allowed_organizations),
                "scopes": self.scopes,
            },
        }

    def hub_secrets(self) -> dict[str, str]:
        return {"clientSecret": self.client_secret.get_secret_value()}


class OidcAuth(_IdentityServerAuth):
    """OAuthenticator's GenericOAuthenticator against an OpenID Connect provider."""

    type: Literal["oidc"]
    client_id: str = Field(min_length=1)
    """The OpenID Connect client's ID."""
    client_secret: SecretStr
    """Its client secret."""
    # Either the issuer (its discovery document is read when the hub starts) ...
    issuer: HttpsUrl | None = None
    """The provider's issuer URL (`https://`): the hub reads its discovery document at start."""
    # ... or the three endpoints explicitly.
    authorize_url: HttpsUrl | None = None
    """Without `issuer`: the authorization endpoint."""
    token_url: HttpsUrl | None = None
    """Without `issuer`: the token endpoint."""
    userinfo_url: HttpsUrl | None = None
    """Without `issuer`: the userinfo endpoint."""
    scopes: tuple[str, ...] = ("openid", "profile", "email")
    """The scopes asked for."""
    username_claim: str = "preferred_username"
    """The userinfo claim that is the username."""
    groups_claim: str = "groups"
    """The userinfo claim that lists the user's groups."""

    @model_validator(mode="after")
    def _endpoints(self) -> OidcAuth:
        explicit = (self.authorize_url, self.token_url, self.userinfo_url)
        if self.issuer is None and not all(explicit):
            raise ValueError(
                "set auth.issuer (discovery), or all of auth.authorizeUrl, auth.tokenUrl and auth.userinfoUrl"
            )
        if self.issuer is not None and any(explicit):
            raise ValueError("set auth.issuer or the explicit endpoint URLs, not both")
        if "openid" not in self.scopes:
            raise ValueError("auth.scopes must include 'openid'")
        return self

    @property
    def start_allowance_seconds(self) -> int:
        # The hub reads the discovery document when it starts, retrying for up to two minutes
        # (hub/apply.py DISCOVERY_TIMEOUT).
        return 120 if self.issuer else 0

    def hub_settings(self, context: AuthContext) -> AuthSettings:
        return {
            **super().hub_settings(context),
            "oidc": {
                "clientId": self.client_id,
                "callbackUrl": context.callback_url,
                "issuer": self.issuer,
                "authorizeUrl": self.authorize_url,
                "tokenUrl": self.token_url,
                "userinfoUrl": self.userinfo_url,
                "scopes": list(self.scopes),
                "usernameClaim": self.username_claim,
                "groupsClaim": self.groups_claim,
                "allowedGroups": sorted(self.allowed_groups),
                "adminGroups": sorted(self.admin_groups),
                "caFile": self._hub_ca_file,
            },
        }

    def hub_secrets(self) -> dict[str, str]:
        return {"clientSecret": self.client_secret.get_secret_value()}


class LdapLookup(_Model):
    """Find the user's DN by searching, instead of building it from a template."""

    search_base: str = Field(min_length=1)
    """Where the user is searched for, e.g. `ou=people,dc=example,dc=org`."""
    user_attribute: str = "uid"
    """The attribute that holds the username."""
    search_user: str | None = None
    """The DN that searches (none: an anonymous search)."""
    search_password: SecretStr | None = None
    """Its password."""

    @model_validator(mode="after")
    def _credentials_together(self) -> LdapLookup:
        if (self.search_user is None) != (self.search_password is None):
            raise ValueError("auth.lookup.searchUser and auth.lookup.searchPassword go together")
        return self


class LdapAuth(_IdentityServerAuth):
    """LDAPAuthenticator against a university or company directory."""

    type: Literal["ldap"]
    server_address: str = Field(min_length=1)
    """The LDAP server's host name or address."""
    server_port: int | None = Field(default=None, ge=1, le=65535)
    """Its port (default: 389, or 636 with `on_connect`)."""
    # before_bind (StartTLS) and on_connect (ldaps) verify the server; insecure must be chosen.
    tls_strategy: Literal["before_bind", "on_connect", "insecure"] = "before_bind"
    """`before_bind` (StartTLS) or `on_connect` (ldaps) verify the server; `insecure` must be chosen."""
    bind_dn_templates: tuple[str, ...] = ()
    """The user's DN with `{username}`, e.g. `uid={username},ou=people,dc=example,dc=org`; or use `lookup`."""
    lookup: LdapLookup | None = None

    @model_validator(mode="after")
    def _how_to_find_the_user(self) -> LdapAuth:
        if not self.bind_dn_templates and self.lookup is None:
            raise ValueError(
                "set auth.bindDnTemplates (e.g. ['uid={username},ou=people,dc=example,dc=org']) "
                "or auth.lookup (searchBase, userAttribute, searchUser, searchPassword)"
            )
        for template in self.bind_dn_templates:
            if "{username}" not in template:
                raise ValueError(f"auth.bindDnTemplates: {template!r} has no {{username}}")
        return self

    def hub_settings(self, context: AuthContext) -> AuthSettings:
        lookup = self.lookup
        return {
            **super().hub_settings(context),
            "ldap": {
                "serverAddress": self.server_address,
                "serverPort": self.server_port,
                "tlsStrategy": self.tls_strategy,
                "bindDnTemplates": list(self.bind_dn_templates),
                "lookup": None
                if lookup is None
                else {
                    "searchBase": lookup.search_base,
                    "userAttribute": lookup.user_attribute,
                    "searchUser": lookup.search_user,
                },
                "allowedGroups": sorted(self.allowed_groups),
                "adminGroups": sorted(self.admin_groups),
                "caFile": self._hub_ca_file,
            },
        }

    def hub_secrets(self) -> dict[str, str]:
        if self.lookup is None or self.lookup.search_password is None:
            return {}
        return {"ldapSearchPassword": self.lookup.search_password.get_secret_value()}


class AnonymousAuth(_AuthMode):
    """TmpAuthenticator: anyone with the link gets a throwaway server. Demo stacks only."""

    type: Literal["anonymous"]

    @property
    def demo_only(self) -> bool:
        return True


AuthConfig = Annotated[
    SharedPasswordAuth | NativeAuth | FirstUseAuth | GitHubAuth | OidcAuth | LdapAuth | AnonymousAuth,
    Field(discriminator="type"),
]
