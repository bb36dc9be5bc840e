"""Actions that run Ansible playbooks through ansible-runner (Pusat Data, recovery, compliance)."""
