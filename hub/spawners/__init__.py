"""The hub's spawner classes: the boot queue (throughput), profiles and Swarm services."""
