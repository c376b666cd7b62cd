"""The users network's firewall: a reconciler that keeps one iptables chain per stack."""
