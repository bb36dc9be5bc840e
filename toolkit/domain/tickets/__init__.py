"""Tickets as data: their models, the typed request fields and how a request is validated."""
