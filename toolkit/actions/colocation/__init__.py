"""The Pusat Data product "Colocation": rack units, power and a configured switch port for an agency's own equipment."""
