"""Profiles: the spawn form's choices, and the server-side check of what a user asked for.

The form only offers a user the profiles they may pick, but user_options can be crafted (a
hand-made form post, or POST /hub/api/users/<name>/server with any JSON body), so the choice is
checked again where JupyterHub applies it, for every start: `Spawner.apply_user_options`, which
JupyterHub 5.3+ calls before `start` on both paths and whose HTTPError reaches the user
(jupyterhub/spawner.py `_run_apply_user_options`).
"""

from __future__ import annotations

import html
from typing import Any

from docker.errors import APIError
from dockerspawner import DockerSpawner
from tornado import web

from hub.contract import ProfileSettings, SpawnerSettings, memory_bytes
from hub.hardening import create_kwargs, device_requests, host_config

FIELD = "profile"


def may_use(profile: ProfileSettings, user: Any) -> bool:
    access = profile["access"]
    if access["everyone"] or (access["admins"] and user.admin) or user.name in access["users"]:
        return True
    return bool({group.name for group in user.groups} & set(access["groups"]))


def allowed(profiles: list[ProfileSettings], user: Any) -> list[ProfileSettings]:
    return [p for p in profiles if may_use(p, user)]


def default_for(choices: list[ProfileSettings]) -> ProfileSettings | None:
    return next((p for p in choices if p["default"]), choices[0] if choices else None)


def render_form(choices: list[ProfileSettings]) -> str:
    """Radio buttons, the default checked; empty (no form: spawn at once) with one choice."""
    if len(choices) < 2:
        return ""
    chosen = default_for(choices)
    rows = []
    for profile in choices:
        checked = " checked" if profile is chosen else ""
        rows.append(
            f'<div class="radio"><label><input type="radio" name="{FIELD}" '
            f'value="{html.escape(profile["name"])}"{checked}> <strong>'
            f"{html.escape(profile['displayName'])}</strong> {html.escape(profile['description'])}"
            "</label></div>"
        )
    return "\n".join(rows)


def choose(profiles: list[ProfileSettings], user: Any, user_options: dict[str, Any]) -> ProfileSettings:
    """The profile `user_options` asks for (the user's default when it names none), or a 4xx."""
    unexpected = sorted(set(user_options) - {FIELD})
    if unexpected:
        raise web.HTTPError(400, f"unknown server options {unexpected}: only '{FIELD}' can be chosen")
    choices = allowed(profiles, user)
    name = user_options.get(FIELD)
    if name is None:
        found = default_for(choices)
        if found is None:
            raise web.HTTPError(403, f"no profile is available to {user.name}; ask an admin")
        return found
    known = {p["name"]: p for p in profiles}
    if not isinstance(name, str) or name not in known:
        raise web.HTTPError(400, f"unknown profile {str(name)[:80]!r}")
    if not may_use(known[name], user):
        raise web.HTTPError(403, f"profile {name!r} is not available to {user.name}")
    return known[name]


def options_from_form(formdata: dict[str, list[str]]) -> dict[str, Any]:
    values = formdata.get(FIELD, [])
    return {FIELD: values[0]} if values else {}


def apply_profiles(profiles: list[ProfileSettings], spawner_settings: SpawnerSettings) -> Any:
    """`Spawner.apply_user_options`: the chosen profile's image, limits, GPUs, environment and
    privileges. The host config and create arguments are rebuilt at every start, not merged
    into the last start's: the spawner object outlives a stop, and a GPU or root profile chosen
    once must not stick to the next start with another profile."""
    images = spawner_settings["images"]

    def apply(spawner: Any, user_options: dict[str, Any]) -> None:
        profile = choose(profiles, spawner.user, user_options)
        spawner.profile = profile
        spawner.image = images[profile["image"]]
        spawner.mem_limit = memory_bytes(profile["memLimit"])
        spawner.mem_guarantee = memory_bytes(profile["memGuarantee"])
        spawner.cpu_limit = profile["cpuLimit"]
        # The configured environment, kept from the first start, plus this profile's alone.
        base = getattr(spawner, "stack_environment", None)
        if base is None:
            base = spawner.stack_environment = dict(spawner.environment)
        spawner.environment = {**base, **profile["environment"]}
        config = host_config(spawner_settings, profile["startsAsRoot"], profile["memGuarantee"])
        if profile["gpus"] is not None:
            config["device_requests"] = device_requests(profile["gpus"])
        spawner.extra_host_config = config
        spawner.extra_create_kwargs = create_kwargs(spawner_settings["labels"], profile["startsAsRoot"])

    return apply


class StackSpawner(DockerSpawner):  # type: ignore[misc]  # dockerspawner has no type hints
    """DockerSpawner, with a clear message when a profile's GPUs cannot be given."""

    profile: ProfileSettings | None = None

    async def start_object(self) -> Any:
        """Between create and start: the device request the engine recorded for the container,
        in the hub's log (start fails at once on a host without GPUs, and `remove` has the engine
        delete the container then)."""
        profile = self.profile
        if profile is not None and profile["gpus"] is not None:
            inspected = await self.docker("inspect_container", self.object_id)
            self.log.info(
                "profile %r: container %s carries device requests %s",
                profile["name"],
                self.object_name,
                inspected["HostConfig"].get("DeviceRequests"),
            )
        return await super().start_object()

    async def start(self) -> Any:
        try:
            return await super().start()
        except APIError as error:
            profile = self.profile
            if profile is None or profile["gpus"] is None or "device driver" not in str(error):
                raise
            raise web.HTTPError(
                500,
                f"Profile {profile['name']!r} asks for GPUs, but the Docker host cannot provide them: "
                "install the NVIDIA Container Toolkit on the host (nvidia-ctk runtime configure), "
                f"or choose another profile. Docker said: {error.explanation or error}",
            ) from None
