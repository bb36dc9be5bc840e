"""Actions on the API gateway and the identity provider (SPLP consumers, keys and credentials)."""
