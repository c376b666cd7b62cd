"""jupyterhub-idle-culler's config file (`--config`, loaded by traitlets, which provides
`get_config`): the cull decision of hub/culler/culling.py."""

from hub.culler.culling import arbiter

c = get_config()  # type: ignore[name-defined]  # noqa: F821
c.IdleCuller.cull_arbiter_hook = arbiter
