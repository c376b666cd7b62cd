"""The idle culler's side: the cull decision, and the config file jupyterhub-idle-culler loads."""
