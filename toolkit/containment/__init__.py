"""CSIRT containment: isolate a host, quarantine a switch port, change access; each part reversible.

Every part records the state it changed *before* changing it (the host's ruleset, the port's VLAN and
shutdown state, the accounts' lock state and authorized keys), so ``release`` puts back exactly what was
there. ``toolkit.containment.service`` is the entry point for the CLI and the catalog actions.
"""
