"""Bridges between the pinned packages where one has not caught up with another. Each module
names the upstream code it works around and the condition under which it can go."""
