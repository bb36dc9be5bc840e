"""Signing support shared by the adapters and the command layer: the local CA, the pyHanko engine,
the passphrase lockout and one-time enrolment activations."""
