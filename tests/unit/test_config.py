"""Every kind of bad stack config fails with the key, the value and what would be accepted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from config.auth import NativeAuth, SharedPasswordAuth
from config.stack import ConfigError, parse_stack_config

SHARED: dict[str, Any] = {"type": "shared-password", "allowAll": True, "password": "long-enough"}


def problems(raw: dict[str, Any], secret_keys: set[str] | None = None) -> str:
    with pytest.raises(ConfigError) as error:
        parse_stack_config(raw, {"auth"} if secret_keys is None else secret_keys)
    return str(error.value)


def test_a_minimal_shared_password_stack_is_valid_with_loopback_defaults() -> None:
    config = parse_stack_config({"auth": SHARED}, {"auth"})
    assert isinstance(config.auth, SharedPasswordAuth)
    assert config.publish.address == "127.0.0.1" and config.publish.http_port(config.tls) == 8000
    assert config.docker_host == "unix:///var/run/docker.sock"
    assert config.keep_data is False
    assert config.notebook.default_image.build is not None
    assert config.notebook.default_image.build.context == "notebook"


def test_the_dev_stack_style_native_config_is_valid() -> None:
    config = parse_stack_config({"auth": {"type": "native", "admins": ["admin"], "allowAll": True}}, set())
    assert isinstance(config.auth, NativeAuth)
    assert config.auth.open_signup is False


def test_an_unknown_auth_type_names_the_accepted_ones() -> None:
    assert (
        "auth.type: 'gitHub' is not one of: shared-password, native, firstuse, github, oidc, ldap, anonymous"
        in problems({"auth": {"type": "gitHub"}})
    )


def test_missing_auth_is_reported() -> None:
    assert "auth: missing" in problems({})


def test_a_missing_auth_type_is_reported() -> None:
    assert "auth.type: missing; set one of: shared-password, native," in problems({"auth": {"admins": []}})


def test_a_short_shared_password_is_refused_without_echoing_it() -> None:
    message = problems({"auth": {**SHARED, "password": "short"}})
    assert "auth.password:" in message and "at least 8 characters" in message
    assert "short" not in message.replace("at least", "")


def test_a_missing_shared_password_is_reported() -> None:
    raw = {k: v for k, v in SHARED.items() if k != "password"}
    assert "auth.password: missing" in problems({"auth": raw})


def test_admins_without_an_admin_password_could_never_log_in() -> None:
    message = problems({"auth": {**SHARED, "admins": ["teacher"]}})
    assert (
        "auth.adminPassword" in message and "pulumi config set --secret --path auth.adminPassword" in message
    )


def test_an_admin_password_under_32_characters_is_refused() -> None:
    message = problems({"auth": {**SHARED, "admins": ["teacher"], "adminPassword": "x" * 31}})
    assert "auth.adminPassword:" in message and "32" in message


def test_a_password_in_plain_text_in_the_stack_file_is_refused() -> None:
    message = problems({"auth": SHARED}, secret_keys=set())
    assert "auth.password: stored in plain text" in message
    assert "pulumi config set --secret --path auth.password" in message


def test_a_stack_where_nobody_could_log_in_is_refused() -> None:
    message = problems({"auth": {"type": "native"}})
    assert "auth.allowedUsers" in message and "auth.allowAll: true" in message


def test_usernames_are_normalised_like_jupyterhub_does() -> None:
    config = parse_stack_config({"auth": {**SHARED, "allowedUsers": [" Alice.Smith@Example.org "]}}, {"auth"})
    assert config.auth.allowed_users == ("alice.smith@example.org",)  # type: ignore[union-attr]


def test_an_unknown_key_is_an_error_not_ignored() -> None:
    assert "auth.pasword: unknown setting" in problems({"auth": {**SHARED, "pasword": "x"}})
    assert "tlss: unknown setting" in problems({"auth": SHARED, "tlss": {}})


def test_a_port_out_of_range_names_key_and_value() -> None:
    message = problems({"auth": SHARED, "publish": {"port": 70000}})
    assert "publish.port:" in message and "70000" in message


def test_a_bad_publish_address_is_refused() -> None:
    assert "publish.address: must be an IP address" in problems(
        {"auth": SHARED, "publish": {"address": "localhost"}}
    )


def test_plain_http_beyond_loopback_needs_an_explicit_tls_terminator() -> None:
    message = problems({"auth": SHARED, "publish": {"address": "0.0.0.0"}})
    assert "publish.address 0.0.0.0 is not loopback" in message and "tls.behindTlsTerminator" in message
    config = parse_stack_config(
        {"auth": SHARED, "publish": {"address": "0.0.0.0"}, "tls": {"behindTlsTerminator": True}}, {"auth"}
    )
    assert config.publish.address == "0.0.0.0"


def test_an_unsupported_tls_mode_is_refused() -> None:
    assert "tls.mode:" in problems({"auth": SHARED, "tls": {"mode": "acme"}})


def test_an_unknown_docker_host_scheme_names_the_accepted_ones() -> None:
    message = problems({"auth": SHARED, "dockerHost": "http://hub:2375"})
    assert (
        "dockerHost: must be unix:///path/to/docker.sock, ssh://user@host[:port] or tcp://host:port"
        in message
    )


def test_an_ssh_host_needs_its_host_key_pinned_unless_checking_is_explicitly_off() -> None:
    message = problems({"auth": SHARED, "dockerHost": "ssh://deploy@hub.example.org"})
    assert "ssh.knownHosts: missing" in message
    config = parse_stack_config(
        {"auth": SHARED, "dockerHost": "ssh://deploy@hub:2222", "ssh": {"insecureSkipHostKeyCheck": True}},
        {"auth"},
    )
    assert config.ssh_target == ("deploy", "hub", 2222)


def test_an_ssh_host_needs_a_user_and_a_malformed_known_hosts_line_is_refused() -> None:
    assert "dockerHost: must be" in problems({"auth": SHARED, "dockerHost": "ssh://hub.example.org"})
    message = problems(
        {"auth": SHARED, "dockerHost": "ssh://d@hub", "ssh": {"knownHosts": "hub ssh-ed25519"}}
    )
    assert "ssh.knownHosts: 'hub ssh-ed25519' is not a known_hosts line" in message


def test_an_ssh_private_key_must_be_a_secret() -> None:
    raw = {
        "auth": SHARED,
        "dockerHost": "ssh://d@hub",
        "ssh": {"knownHosts": "hub ssh-ed25519 AAAA", "privateKey": "k"},
    }
    with pytest.raises(ConfigError, match=r"ssh\.privateKey: stored in plain text"):
        parse_stack_config(raw, {"auth"})


def test_a_tcp_host_needs_client_tls() -> None:
    assert "dockerTls: missing" in problems({"auth": SHARED, "dockerHost": "tcp://hub.example.org:2376"})


def test_a_notebook_image_is_pulled_or_built_not_both() -> None:
    message = problems({"auth": SHARED, "notebook": {"image": "x/y:1", "build": {"context": "notebook"}}})
    assert "notebook.image (to pull) or notebook.build, not both" in message


def test_spawner_limits_are_validated() -> None:
    message = problems({"auth": SHARED, "spawner": {"memLimit": "lots", "cpuLimit": 0, "startTimeout": 1}})
    assert "spawner.memLimit: must be a size such as 512M or 2G (got 'lots')" in message
    assert message.count("'lots'") == 1, "the offending value is printed once"
    assert "spawner.cpuLimit:" in message
    assert "spawner.startTimeout:" in message


def test_all_problems_are_reported_at_once() -> None:
    message = problems({"auth": {**SHARED, "password": "short"}, "publish": {"port": 0}})
    assert "auth.password" in message and "publish.port" in message


GITHUB: dict[str, Any] = {"type": "github", "clientId": "Iv1.x", "clientSecret": "s", "allowAll": True}
OIDC: dict[str, Any] = {
    "type": "oidc",
    "clientId": "hub",
    "clientSecret": "s",
    "issuer": "https://id.example.org/realms/lab",
    "allowAll": True,
}
LDAP: dict[str, Any] = {
    "type": "ldap",
    "serverAddress": "ldap.example.org",
    "bindDnTemplates": ["uid={username},ou=people,dc=example,dc=org"],
    "allowAll": True,
}


def test_github_without_a_client_secret_is_refused() -> None:
    raw = {k: v for k, v in GITHUB.items() if k != "clientSecret"}
    assert "auth.clientSecret: missing" in problems({"auth": raw})


def test_github_organisations_ask_for_the_read_org_scope() -> None:
    config = parse_stack_config({"auth": {**GITHUB, "allowedOrganizations": ["lab:staff"]}}, {"auth"})
    assert config.auth.scopes == ["read:user", "read:org"]  # type: ignore[union-attr]


def test_an_oidc_issuer_must_be_https() -> None:
    message = problems({"auth": {**OIDC, "issuer": "http://id.example.org"}})
    assert "auth.issuer: must be an https:// URL (got 'http://id.example.org')" in message


def test_oidc_needs_an_issuer_or_all_three_endpoints() -> None:
    raw = {k: v for k, v in OIDC.items() if k != "issuer"}
    message = problems({"auth": {**raw, "authorizeUrl": "https://id.example.org/auth"}})
    assert (
        "auth.issuer (discovery), or all of auth.authorizeUrl, auth.tokenUrl and auth.userinfoUrl" in message
    )


def test_ldap_without_a_bind_template_or_lookup_is_refused() -> None:
    raw = {k: v for k, v in LDAP.items() if k != "bindDnTemplates"}
    message = problems({"auth": raw})
    assert "auth.bindDnTemplates" in message and "auth.lookup" in message


def test_an_ldap_bind_template_needs_the_username_placeholder() -> None:
    message = problems({"auth": {**LDAP, "bindDnTemplates": ["uid=alice,ou=people,dc=example,dc=org"]}})
    assert "has no {username}" in message


def test_ldap_tls_strategy_is_one_of_the_known_three() -> None:
    message = problems({"auth": {**LDAP, "tlsStrategy": "none"}})
    assert "auth.tlsStrategy:" in message and "before_bind" in message


def test_an_ldap_search_password_must_be_a_secret() -> None:
    lookup = {"searchBase": "ou=people,dc=example,dc=org", "searchUser": "cn=reader", "searchPassword": "x"}
    raw = {k: v for k, v in LDAP.items() if k != "bindDnTemplates"}
    message = problems({"auth": {**raw, "lookup": lookup}}, secret_keys=set())
    assert "auth.lookup.searchPassword: stored in plain text" in message


def test_anonymous_login_is_refused_on_a_stack_not_marked_demo() -> None:
    message = problems({"auth": {"type": "anonymous"}})
    assert "only allowed on a stack marked demo: true" in message
    assert parse_stack_config({"auth": {"type": "anonymous"}, "demo": True}, set()).demo


def test_firstuse_needs_an_explicit_allow_choice_too() -> None:
    assert "auth.allowAll: true" in problems({"auth": {"type": "firstuse"}})


IMAGES: dict[str, Any] = {
    "images": [
        {"name": "Python", "build": {"context": "notebook"}},
        {"name": "R", "image": "quay.io/jupyter/r-notebook:2025-01-01"},
    ],
    "default": "R",
}


def test_a_list_of_notebook_images_with_a_default() -> None:
    config = parse_stack_config({"auth": SHARED, "notebook": IMAGES}, {"auth"})
    assert [i.name for i in config.notebook.effective_images] == ["Python", "R"]
    assert config.notebook.default_image.image == "quay.io/jupyter/r-notebook:2025-01-01"


def test_an_unknown_default_image_names_the_choices() -> None:
    message = problems({"auth": SHARED, "notebook": {**IMAGES, "default": "Julia"}})
    assert "notebook.default: 'Julia' is not one of the image names: Python, R" in message


def test_duplicate_image_names_are_refused() -> None:
    images = [{"name": "Python", "image": "a:1"}, {"name": "Python", "image": "b:1"}]
    assert "notebook.images: duplicate names ['Python']" in problems(
        {"auth": SHARED, "notebook": {"images": images}}
    )


def test_an_image_is_pulled_or_built_not_neither() -> None:
    message = problems({"auth": SHARED, "notebook": {"images": [{"name": "Empty"}]}})
    assert "image 'Empty': set exactly one of image (to pull) or build" in message


def test_registry_credentials_go_together_and_the_password_is_secret() -> None:
    message = problems({"auth": SHARED, "registry": {"enabled": True, "username": "teacher"}})
    assert "registry.username and registry.password go together" in message
    with pytest.raises(ConfigError, match=r"registry\.password: stored in plain text"):
        parse_stack_config(
            {"auth": SHARED, "registry": {"enabled": True, "username": "t", "password": "p"}}, {"auth"}
        )


def test_the_mirror_prefixes_default_images_but_not_ones_set_explicitly() -> None:
    config = parse_stack_config(
        {"auth": SHARED, "images": {"mirror": "mirror.example.org/", "proxy": "local/chp:1"}}, {"auth"}
    )
    assert config.images.resolved("base") == "mirror.example.org/python:3.12-slim-bookworm"
    assert config.images.resolved("registry") == "mirror.example.org/registry:2.8.3"
    assert config.images.resolved("proxy") == "local/chp:1"


def test_real_engine_two_published_ports_of_one_stack_that_collide_are_refused_at_preview() -> None:
    # Docker would refuse the second binding with "port is already allocated" at `up`, after
    # part of the stack exists; the config names both keys before anything is registered.
    registry = {"enabled": True, "port": 8000}
    message = problems({"auth": SHARED, "registry": registry})
    assert "publish.port and registry.port both publish port 8000 on the Docker host" in message
    wildcard = {"auth": SHARED, "registry": {**registry, "address": "0.0.0.0"}}
    assert "both publish port 8000" in problems(wildcard)
    # Other addresses, or other ports, do not collide.
    parse_stack_config({"auth": SHARED, "registry": {**registry, "address": "127.0.0.2"}}, {"auth"})
    parse_stack_config({"auth": SHARED, "registry": {**registry, "port": 5000}}, {"auth"})


def test_real_engine_a_config_error_is_a_run_error_so_the_cli_prints_no_traceback() -> None:
    import pulumi

    with pytest.raises(pulumi.RunError):
        parse_stack_config({"auth": {"type": "gitHub"}}, set())


def test_every_problem_found_while_planning_is_reported_at_once_and_nothing_registers(tmp_path: Path) -> None:
    from tests.unit.conftest import BASE_CONFIG, preview

    config = {
        **BASE_CONFIG,
        "jupyterhub-docker:auth": {"type": "native", "allowedUsersFile": "no-such-userlist"},
        "jupyterhub-docker:notebook": {
            "images": [
                {"name": "Python", "build": {"context": "no-such-context"}},
                {"name": "Lesson", "build": {"context": "notebook", "dockerfile": "Nope.Dockerfile"}},
            ]
        },
        "jupyterhub-docker:images": {"caCertificatesFile": "no-such-ca.pem"},
    }
    result = preview(tmp_path, config=config, secrets={})
    assert result.returncode == 1
    for problem in (
        "auth.allowedUsersFile: 'no-such-userlist' does not exist",
        "notebook.images[0].build.context: 'no-such-context' does not exist",
        "images.caCertificatesFile: 'no-such-ca.pem' does not exist",
        "notebook.images[1].build.dockerfile: no 'Nope.Dockerfile' in",
    ):
        assert problem in result.stderr, problem
    assert "Traceback" not in result.stderr
    # Not even the root component: the plan runs before anything registers.
    assert result.resources == []


def test_shared_folder_settings_are_checked_with_their_keys() -> None:
    volume: dict[str, Any] = {"volume": {}}
    message = problems(
        {
            "auth": SHARED,
            "shared": [
                {"name": "Course", "target": "/course", "source": volume},
                {"name": "two", "target": "relative", "source": {**volume, "hostPath": "/srv"}},
                {
                    "name": "three",
                    "target": "/x",
                    "readOnly": True,
                    "writers": {"admins": True},
                    "source": volume,
                },
                {"name": "four", "target": "/y", "writers": {}, "source": volume},
            ],
        }
    )
    assert "shared[0].name: use lower-case letters" in message
    assert "shared[1].target: must be a normalized absolute path" in message
    assert "shared[1].source: set exactly one of volume" in message and "(found volume, hostPath)" in message
    assert "readOnly: true and writers exclude each other" in message
    assert "shared[3].writers: writers: name someone" in message
    message = problems(
        {
            "auth": SHARED,
            "shared": [
                {"name": "a", "target": "/home/jovyan/a", "source": volume},
                {"name": "a", "target": "/home/jovyan/a", "source": volume},
                {"name": "home", "target": "/home", "source": volume},
            ],
        }
    )
    assert "shared[1].name: 'a' is used twice" in message
    assert "shared[1].target: '/home/jovyan/a' is used twice" in message
    assert "shared[2].target: '/home' would cover the home directory /home/jovyan" in message


def test_shared_folder_a_cifs_password_must_be_a_secret_and_fit_the_mount_options() -> None:
    cifs = {"server": "files.example.org", "share": "lab", "username": "u", "password": "p,w"}
    entry = {"name": "g", "target": "/g", "source": {"cifs": cifs}}
    message = problems({"auth": SHARED, "shared": [entry]}, secret_keys={"auth", "shared"})
    assert "shared[0].source.cifs.password: contains a comma or space" in message and "p,w" not in message
    message = problems({"auth": SHARED, "shared": [entry]}, secret_keys={"auth"})
    assert "shared[0].source.cifs.password: stored in plain text" in message


@pytest.mark.parametrize(
    ("class_name", "trait", "instead"),
    [
        ("DockerSpawner", "mem_limit", "spawner.memLimit"),
        ("Spawner", "cpu_limit", "spawner.cpuLimit"),
        ("DockerSpawner", "extra_host_config", "spawner.pidsLimit"),
        ("DockerSpawner", "volumes", "use shared"),
        ("QueuedDockerSpawner", "extra_create_kwargs", "spawner.startsAsRoot"),
        ("SwarmSpawner", "extra_placement_spec", "profiles[].placement"),
    ],
)
def test_api_proxy_an_extra_config_trait_the_proxy_would_refuse_at_every_spawn_is_refused_at_preview(
    class_name: str, trait: str, instead: str
) -> None:
    message = problems({"auth": SHARED, "hub": {"extraConfig": {class_name: {trait: "x"}}}})
    assert f"hub.extraConfig: {class_name}.{trait} decides what users' containers are" in message
    assert instead in message
    # What does not decide the container stays the escape hatch it is.
    parse_stack_config(
        {"auth": SHARED, "hub": {"extraConfig": {"DockerSpawner": {"start_timeout": 30}}}}, {"auth"}
    )


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/var/run", "'/var/run' is /var/run, a system directory of the Docker host"),
        ("/run", "is /run, a system directory"),
        ("/etc", "is /etc, a system directory"),
        ("/etc/ssh", "is inside /etc, a system directory"),
        ("/proc", "is /proc"),
        ("/sys/fs/cgroup", "is inside /sys"),
        ("/dev", "is /dev"),
        ("/boot", "is /boot"),
        ("/root", "is /root"),
        ("/usr/local/bin", "is inside /usr"),
        ("/var/lib/docker", "is /var/lib/docker"),
        ("/var/lib/docker/volumes/jhub-other-home-ann/_data", "is inside /var/lib/docker"),
        ("/var", "holds /var/lib/containerd, a system directory"),
        ("/var/lib", "holds /var/lib/containerd"),
        ("/srv/../var/run", "is /var/run"),
    ],
)
def test_hostpath_a_system_directory_of_the_docker_host_is_refused_with_its_key(
    path: str, reason: str
) -> None:
    entry = {"name": "data", "target": "/home/jovyan/data", "source": {"hostPath": path}}
    message = problems({"auth": SHARED, "shared": [entry], "spawner": {}})
    assert f"shared[0].source.hostPath: {path!r}" in message
    assert reason in message and "hands them the host" in message and "e.g. /srv/course" in message


@pytest.mark.parametrize(
    ("docker_host", "socket", "path"),
    [
        ("unix:///home/teacher/.docker/run/docker.sock", None, "/home/teacher/.docker/run"),
        ("unix:///home/teacher/.docker/run/docker.sock", None, "/home/teacher"),
        ("unix:///srv/engine/docker.sock", None, "/srv/engine/docker.sock"),
        ("ssh://teacher@lab.example.org", "/srv/engine/docker.sock", "/srv"),
    ],
)
def test_hostpath_the_engines_socket_its_directory_and_what_holds_it_are_refused(
    docker_host: str, socket: str | None, path: str
) -> None:
    raw: dict[str, Any] = {
        "auth": SHARED,
        "dockerHost": docker_host,
        "shared": [{"name": "data", "target": "/home/jovyan/data", "source": {"hostPath": path}}],
    }
    if socket is not None:
        raw |= {"dockerSocket": socket, "ssh": {"knownHosts": "lab.example.org ssh-ed25519 AAAA"}}
    message = problems(raw)
    assert f"shared[0].source.hostPath: {path!r} is or holds the Docker engine's socket" in message
    assert "(dockerHost / dockerSocket)" in message


@pytest.mark.parametrize("path", ["/srv/course", "/home/teacher/course", "/data", "/mnt/datasets", "/tmp/x"])
def test_hostpath_directories_made_for_sharing_are_accepted(path: str) -> None:
    entry = {"name": "data", "target": "/home/jovyan/data", "source": {"hostPath": path}}
    config = parse_stack_config({"auth": SHARED, "shared": [entry]}, {"auth"})
    assert config.shared[0].source.host_path == path


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("/etc", "is /etc, a system directory of the image"),
        ("/usr", "is /usr"),
        ("/opt", "is /opt"),
        ("/opt/conda", "is /opt/conda"),
        ("/var", "is /var"),
        ("/proc/sys", "is inside /proc, which the kernel provides"),
        ("/dev/shm", "is inside /dev"),
    ],
)
def test_hostpath_a_shared_target_over_a_system_directory_of_the_image_is_refused(
    target: str, reason: str
) -> None:
    entry = {"name": "data", "target": target, "source": {"volume": {}}}
    message = problems({"auth": SHARED, "shared": [entry]})
    assert f"shared[0].target: {reason}" in message and f"(got {target!r})" in message


@pytest.mark.parametrize(
    ("home", "reason"),
    [
        ("/", "is the image's root directory"),
        ("/etc", "is /etc, a system directory of the image"),
        ("/usr/local", "is /usr/local"),
        ("home/jovyan", "must be a normalized absolute path"),
        ("/home/../etc", "must be a normalized absolute path"),
    ],
)
def test_hostpath_a_home_directory_of_or_over_a_system_directory_is_refused(home: str, reason: str) -> None:
    message = problems({"auth": SHARED, "spawner": {"homeDir": home}})
    assert f"spawner.homeDir: {reason}" in message


def test_hostpath_mounts_inside_the_images_configuration_stay_possible() -> None:
    entry = {
        "name": "cfg",
        "target": "/etc/jupyter",
        "readOnly": True,
        "source": {"hostPath": "/srv/jupyter-cfg"},
    }
    config = parse_stack_config(
        {"auth": SHARED, "shared": [entry], "spawner": {"homeDir": "/home/ann"}}, {"auth"}
    )
    assert config.shared[0].target == "/etc/jupyter" and config.spawner.home_dir == "/home/ann"


def test_hostpath_the_engines_directory_as_a_shared_folder_fails_preview_before_anything_registers(
    tmp_path: Path,
) -> None:
    # The sweep's case: /var/run, with neither readOnly nor writers, would have been mounted
    # read-write into every server, the engine's socket with it.
    from tests.unit.conftest import BASE_CONFIG, preview

    shared = [{"name": "run", "target": "/home/jovyan/run", "source": {"hostPath": "/var/run"}}]
    result = preview(tmp_path, config={**BASE_CONFIG, "jupyterhub-docker:shared": shared})
    assert result.returncode == 1
    assert "shared[0].source.hostPath: '/var/run' is /var/run, a system directory of the Docker host" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr and result.resources == []


def test_hostpath_a_link_into_a_system_directory_fails_preview_where_the_host_is_this_machine(
    tmp_path: Path,
) -> None:
    # Docker mounts what a link leads to: /srv/course -> /run would be /run itself. In the
    # second folder the link is a parent directory, which a look at the last name would miss.
    from tests.unit.conftest import BASE_CONFIG, preview

    host = tmp_path / "host"
    host.mkdir()
    (host / "notes").mkdir()
    (host / "course").symlink_to("/run")
    (host / "system").symlink_to("/usr")
    paths = {"notes": host / "notes", "course": host / "course", "libs": host / "system" / "lib"}
    shared = [
        {"name": name, "target": f"/home/jovyan/{name}", "source": {"hostPath": str(path)}}
        for name, path in paths.items()
    ]
    result = preview(tmp_path, config={**BASE_CONFIG, "jupyterhub-docker:shared": shared})
    assert result.returncode == 1
    assert (
        f"shared[1].source.hostPath: {str(paths['course'])!r} leads by a symbolic link to '/run', which "
        "is /run, a system directory of the Docker host; every user's server would mount it" in result.stderr
    )
    assert (
        f"shared[2].source.hostPath: {str(paths['libs'])!r} leads by a symbolic link to '/usr/lib', which "
        "is inside /usr, a system directory of the Docker host" in result.stderr
    )
    assert "shared[0]" not in result.stderr and result.resources == []


def test_admission_a_guarantee_above_the_cap_is_refused_with_both_keys() -> None:
    message = problems({"auth": SHARED, "spawner": {"memLimit": "1G", "memGuarantee": "2G"}})
    assert "spawner.memGuarantee 2G is above spawner.memLimit 1G" in message
    message = problems(
        {"auth": SHARED, "profiles": [{"name": "p", "memLimit": "1G", "memGuarantee": "1536M"}]}
    )
    assert "profiles[0].memGuarantee 1536M is above profiles[0].memLimit 1G" in message
    # A profile without its own limit has the spawner's, and the message names that setting.
    message = problems(
        {"auth": SHARED, "spawner": {"memLimit": "1G"}, "profiles": [{"name": "p", "memGuarantee": "2G"}]}
    )
    assert "profiles[0].memGuarantee 2G is above spawner.memLimit 1G" in message
    assert "lower profiles[0].memGuarantee or raise spawner.memLimit" in message
    assert "memGuarantee: must be a size such as 512M" in problems(
        {"auth": SHARED, "spawner": {"memGuarantee": "lots"}}
    )
