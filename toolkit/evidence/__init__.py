"""Evidence of a cyber incident: collected from the affected host, sealed, verifiable.

``config`` (settings), ``paths`` (which paths may be requested), ``manifest`` (the sealed record and
its chain of custody), ``bundle`` (sealing and packing), ``verify`` (tamper detection) and
``collect`` (the Ansible run that fetches the data).
"""
