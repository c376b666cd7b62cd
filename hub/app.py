"""The hub's process: JupyterHub, with declared groups whose membership is exactly the config's.

The image runs `python -m hub.app` (hub/Dockerfile) instead of `jupyterhub`; everything else is
JupyterHub's own. `load_groups` only adds members (jupyterhub/app.py `init_groups`); this removes,
after it, what a group marked as declared (hub/roles.py) no longer lists, and the marked groups
the config no longer declares, so a student moved out of a class loses the TA's access to their
server at the next `up`.
"""

from __future__ import annotations

from jupyterhub import orm
from jupyterhub.app import JupyterHub

from hub.roles import DECLARED_PROPERTY, DECLARED_VALUE


class StackHub(JupyterHub):  # type: ignore[misc]  # JupyterHub is untyped
    async def init_groups(self) -> None:
        await super().init_groups()
        declared = {
            name: {self.authenticator.normalize_username(user) for user in contents.get("users", [])}
            for name, contents in self.load_groups.items()
        }
        for group in self.db.query(orm.Group).all():
            if (group.properties or {}).get(DECLARED_PROPERTY) != DECLARED_VALUE:
                continue
            members = declared.get(group.name)
            if members is None:
                self.log.info("Deleting group %s: the stack config no longer declares it", group.name)
                self.db.delete(group)
                continue
            for user in list(group.users):
                if user.name not in members:
                    self.log.info("Removing %s from group %s: not in the stack config", user.name, group.name)
                    group.users.remove(user)
        self.db.commit()


main = StackHub.launch_instance

if __name__ == "__main__":
    main()
