"""Shared folders: a stack-owned volume admins write and users read, a host directory, and
CIFS/NFS volumes defined exactly (this kernel cannot mount them: `up` says so, naming the folder)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.deployers import Deployer, DeployError
from tests.e2e.conftest import ADMIN_PASSWORD, USER_PASSWORD, Deployment, StackFactory, stack_objects
from tests.e2e.hubclient import HubUser

AUTH = {"type": "shared-password", "admins": ["teacher"], "allowAll": True}
SECRETS = {"auth.password": USER_PASSWORD, "auth.adminPassword": ADMIN_PASSWORD}


@pytest.fixture(scope="module")
def host_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory on the Docker host (this machine), with a dataset in it."""
    directory = tmp_path_factory.mktemp("datasets")
    (directory / "iris.csv").write_text("sepal,petal\n5.1,1.4\n")
    directory.chmod(0o755)
    return directory


@pytest.fixture(scope="module")
def material(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Course material on the machine running Pulumi, copied into the course folder at up."""
    directory = tmp_path_factory.mktemp("material")
    (directory / "syllabus.md").write_text("# Linear algebra\n")
    return directory


@pytest.fixture(scope="module")
def classroom(make_stack: StackFactory, host_dir: Path, material: Path) -> Iterator[Deployment]:
    stack = make_stack(
        AUTH,
        secret_config=SECRETS,
        extra={
            "shared": [
                {
                    "name": "course",
                    "target": "/home/jovyan/course",
                    "writers": {"admins": True},
                    "source": {"volume": {"seed": str(material)}},
                },
                {
                    "name": "datasets",
                    "target": "/home/jovyan/datasets",
                    "readOnly": True,
                    "source": {"hostPath": str(host_dir)},
                },
            ]
        },
    )
    yield stack


def _write(user: HubUser, path: str, text: str) -> str:
    """Write `text` to `path` in the user's server, in a kernel: 'written', or the OS's reason."""
    return user.run_code(
        "def attempt():\n"
        "    try:\n"
        f"        open({path!r}, 'w').write({text!r})\n"
        "        return 'written'\n"
        "    except OSError as e:\n"
        "        return e.strerror\n"
        "attempt()"
    )


def _read(user: HubUser, path: str) -> str:
    return user.run_code(f"open({path!r}).read()")


def test_shared_folder_admins_write_a_stack_volume_that_users_only_read(
    classroom: Deployment, engine: docker.DockerClient
) -> None:
    student, teacher = HubUser(classroom.url, "student"), HubUser(classroom.url, "teacher")
    assert student.login(USER_PASSWORD).status_code == 200
    assert teacher.login(ADMIN_PASSWORD).status_code == 200
    student.start_server()
    teacher.start_server()

    # The stack owns the volume, labelled as its own.
    volume = engine.volumes.get(f"{classroom.prefix}-shared-course")
    assert volume.attrs["Labels"]["org.jupyterhub-docker.role"] == "shared"

    assert "# Linear algebra" in _read(student, "/home/jovyan/course/syllabus.md"), "seeded at up"
    assert "written" in _write(teacher, "/home/jovyan/course/notes.txt", "week 1: vectors")
    refused = _write(student, "/home/jovyan/course/notes.txt", "mine now")
    assert "Read-only file system" in refused, refused
    assert "week 1: vectors" in _read(student, "/home/jovyan/course/notes.txt")

    mounts = {
        m["Destination"]: m["RW"]
        for m in engine.containers.get(f"{classroom.prefix}-user-student").attrs["Mounts"]
    }
    assert mounts == {"/home/jovyan": True, "/home/jovyan/course": False, "/home/jovyan/datasets": False}


def test_shared_folder_from_a_host_directory_is_read_only_for_everyone(classroom: Deployment) -> None:
    teacher = HubUser(classroom.url, "teacher")
    assert teacher.login(ADMIN_PASSWORD).status_code == 200
    teacher.start_server()
    assert "5.1,1.4" in _read(teacher, "/home/jovyan/datasets/iris.csv")
    assert "Read-only file system" in _write(teacher, "/home/jovyan/datasets/new.csv", "x")


def test_shared_folder_a_missing_host_directory_fails_the_preview_naming_it(
    make_test_stack: StackFactory, tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere"
    stack = make_test_stack(
        AUTH,
        secret_config=SECRETS,
        extra={"shared": [{"name": "data", "target": "/data", "source": {"hostPath": str(missing)}}]},
        deploy=False,
    )
    with pytest.raises(DeployError) as failed:
        stack.up()
    assert f"shared[0].source.hostPath: {str(missing)!r} is not a directory on the Docker host" in str(
        failed.value
    )


def test_shared_folder_cifs_and_nfs_volumes_are_defined_exactly_and_an_unmountable_one_fails_up(
    make_test_stack: StackFactory, engine: docker.DockerClient
) -> None:
    password = "smb-" + secrets.token_hex(8)
    stack = make_test_stack(
        AUTH,
        secret_config={**SECRETS, "shared[0].source.cifs.password": password},
        extra={
            "shared": [
                {
                    "name": "group",
                    "target": "/home/jovyan/group",
                    "writers": {"groups": ["staff"]},
                    "source": {
                        "cifs": {
                            "server": "127.0.0.1",
                            "share": "lab",
                            "username": "jhub",
                            "options": "vers=3.0",
                        }
                    },
                },
                {
                    "name": "archive",
                    "target": "/home/jovyan/archive",
                    "source": {"nfs": {"server": "127.0.0.1", "export": "/exports/archive"}},
                },
            ]
        },
        deploy=False,
    )
    with pytest.raises(DeployError) as failed:
        stack.up()
    message = str(failed.value)
    # This kernel has no CIFS or NFS client: up stops before the hub, naming each folder.
    assert "shared[0]: the Docker host cannot mount //127.0.0.1/lab on 127.0.0.1 (cifs)" in message
    assert "shared[1]: the Docker host cannot mount :/exports/archive on 127.0.0.1 (nfs)" in message
    assert "cifs-utils" in message and "nfs-common" in message
    assert password not in message
    # What Docker received, exactly as a lab's compose file would define it.
    cifs = engine.volumes.get(f"{stack.prefix}-shared-group").attrs
    assert (cifs["Driver"], cifs["Options"]) == (
        "local",
        {
            "type": "cifs",
            "device": "//127.0.0.1/lab",
            "o": f"addr=127.0.0.1,username=jhub,password={password},vers=3.0",
        },
    )
    nfs = engine.volumes.get(f"{stack.prefix}-shared-archive").attrs
    assert (nfs["Driver"], nfs["Options"]) == (
        "local",
        {"type": "nfs", "device": ":/exports/archive", "o": "addr=127.0.0.1,nfsvers=4"},
    )
    assert not [c for c in stack_objects(engine, stack.spec.name)["containers"] if c.endswith("-hub")]
    stack.destroy()
    assert stack_objects(engine, stack.spec.name) == {"containers": [], "volumes": [], "networks": []}


def test_shared_folder_a_changed_list_replaces_the_hub_and_api_proxy_and_reaches_servers_at_next_start(
    classroom: Deployment, deployer: Deployer, engine: docker.DockerClient, material: Path
) -> None:
    student = HubUser(classroom.url, "student")
    assert student.login(USER_PASSWORD).status_code == 200
    student.start_server()
    server = engine.containers.get(f"{classroom.prefix}-user-student").id

    folders = classroom.config["jupyterhub-docker:shared"]
    scratch = {"name": "scratch", "target": "/home/jovyan/scratch", "source": {"volume": {}}}
    classroom.configure(shared=[*folders, scratch])
    # New material too: copied in with the next up, beside what people wrote there.
    (material / "week2.md").write_text("# Week 2: matrices\n")
    previewed = deployer.preview(classroom.spec)
    classroom.up()
    assert deployer.last_plan == previewed, "up did what the preview said"
    assert previewed == {
        "jupyterhub-shared-scratch": "create",
        "jupyterhub-shared-check": "replace",
        "jupyterhub-hub-container": "replace",
        # The Docker API proxy's policy allows exactly the stack's shared folders.
        "jupyterhub-docker-api-container": "replace",
        "jupyterhub-readiness-check": "replace",
    }
    # The running server stays (and the existing folder's data, read below); the new folder comes
    # with the next start.
    assert engine.containers.get(f"{classroom.prefix}-user-student").id == server
    assert student.logged_in(), "the session outlives the hub's replacement"
    student.stop_server()
    student.start_server()
    assert _write(student, "/home/jovyan/scratch/mine.txt", "everyone writes here") == "'written'"
    assert "week 1: vectors" in _read(student, "/home/jovyan/course/notes.txt")
    assert "# Week 2: matrices" in _read(student, "/home/jovyan/course/week2.md")
