"""Outside service desks (issue 16): the mapping, the intake of what people do there, the mirror back."""
