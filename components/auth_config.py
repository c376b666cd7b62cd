"""How users log in (`auth` in the stack config): one model per authenticator.

Each mode names exactly the settings its authenticator needs; secrets are `SecretStr` and must
be set with `pulumi config set --secret --path auth.<key>`. Usernames are normalised the way
JupyterHub's authenticators do it (lower case), so a listed name always matches a login.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlparse

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic.alias_generators import to_camel

AUTH_TYPES = ("shared-password", "native", "firstuse", "github", "oidc", "ldap", "anonymous")

# Auth config paths that hold secrets, as `pulumi config set --secret --path <path>` names them.
AUTH_SECRET_PATHS = (
    "auth.password",
    "auth.adminPassword",
    "auth.clientSecret",
    "auth.lookup.searchPassword",
)


class _Model(BaseModel):
    # camelCase keys in the YAML, snake_case in Python; unknown keys are errors, not ignored.
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


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
        raise ValueError(f"must be an https:// URL, got {value!r}")
    return value.rstrip("/")


HttpsUrl = Annotated[str, AfterValidator(_https_url)]


class _AuthCommon(_Model):
    admins: tuple[Username, ...] = ()
    allowed_users: tuple[Username, ...] = ()
    # A file of usernames, one per line (the tutorials' `userlist`), relative to the project.
    allowed_users_file: str | None = None
    # JupyterHub refuses everyone who is not allowed unless this is set explicitly.
    allow_all: bool = False

    def _grants_access(self) -> bool:
        """Whether some setting other than allowAll and the user lists admits users."""
        return False

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
    admin_groups: tuple[str, ...] = ()
    # A PEM file of CA certificates the hub trusts for this server (a private CA).
    ca_certificates_file: str | None = None

    def _grants_access(self) -> bool:
        return bool(self.allowed_groups or self.admin_groups)


class SharedPasswordAuth(_AuthCommon):
    """JupyterHub's SharedPasswordAuthenticator: one password for a workshop."""

    type: Literal["shared-password"]
    # The limits the authenticator itself enforces, checked here at preview.
    password: Annotated[SecretStr, _min_length(8)]
    admin_password: Annotated[SecretStr, _min_length(32)] | None = None

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


class NativeAuth(_AuthCommon):
    """NativeAuthenticator: users sign up, an admin approves them."""

    type: Literal["native"]
    signup: bool = True
    open_signup: bool = False
    minimum_password_length: int = Field(default=8, ge=1, le=128)
    # Lock an account for lockoutSeconds after this many failed logins (0: never).
    allowed_failed_logins: int = Field(default=5, ge=0, le=1000)
    lockout_seconds: int = Field(default=600, ge=1, le=86400)


class FirstUseAuth(_AuthCommon):
    """FirstUseAuthenticator: the first login sets the user's password."""

    type: Literal["firstuse"]
    minimum_password_length: int = Field(default=8, ge=1, le=128)


class GitHubAuth(_AuthCommon):
    """OAuthenticator's GitHubOAuthenticator."""

    type: Literal["github"]
    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    # "org" or "org:team"; checking them needs the read:org scope, which is then requested.
    allowed_organizations: tuple[str, ...] = ()

    def _grants_access(self) -> bool:
        return bool(self.allowed_organizations)

    @property
    def scopes(self) -> list[str]:
        return ["read:user", "read:org"] if self.allowed_organizations else ["read:user"]


class OidcAuth(_IdentityServerAuth):
    """OAuthenticator's GenericOAuthenticator against an OpenID Connect provider."""

    type: Literal["oidc"]
    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    # Either the issuer (its discovery document is read when the hub starts) ...
    issuer: HttpsUrl | None = None
    # ... or the three endpoints explicitly.
    authorize_url: HttpsUrl | None = None
    token_url: HttpsUrl | None = None
    userinfo_url: HttpsUrl | None = None
    scopes: tuple[str, ...] = ("openid", "profile", "email")
    username_claim: str = "preferred_username"
    groups_claim: str = "groups"

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


class LdapLookup(_Model):
    """Find the user's DN by searching, instead of building it from a template."""

    search_base: str = Field(min_length=1)
    user_attribute: str = "uid"
    search_user: str | None = None
    search_password: SecretStr | None = None

    @model_validator(mode="after")
    def _credentials_together(self) -> LdapLookup:
        if (self.search_user is None) != (self.search_password is None):
            raise ValueError("auth.lookup.searchUser and auth.lookup.searchPassword go together")
        return self


class LdapAuth(_IdentityServerAuth):
    """LDAPAuthenticator against a university or company directory."""

    type: Literal["ldap"]
    server_address: str = Field(min_length=1)
    server_port: int | None = Field(default=None, ge=1, le=65535)
    # before_bind (StartTLS) and on_connect (ldaps) verify the server; insecure must be chosen.
    tls_strategy: Literal["before_bind", "on_connect", "insecure"] = "before_bind"
    bind_dn_templates: tuple[str, ...] = ()
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


class AnonymousAuth(_Model):
    """TmpAuthenticator: anyone with the link gets a throwaway server. Demo stacks only."""

    type: Literal["anonymous"]


AuthConfig = Annotated[
    SharedPasswordAuth | NativeAuth | FirstUseAuth | GitHubAuth | OidcAuth | LdapAuth | AnonymousAuth,
    Field(discriminator="type"),
]
