"""Ports: every Protocol for an outside system (ticket system, job queue, state stores, directory, API gateway,
identity provider, notifier), implemented in `integrations/` and chosen by configuration."""
