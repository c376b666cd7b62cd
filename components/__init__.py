"""ComponentResources that deploy a multi-user JupyterHub onto one Docker host."""
