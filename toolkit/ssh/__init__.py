"""SSH to managed hosts with paramiko, reached the way the Ansible inventory says (host, port, user, key,
known_hosts; host keys strictly from that file, never learnt): one connect for every direct user (the
compliance gatherer, the containment fast path) and a pool of warm connections for long-lived processes."""
