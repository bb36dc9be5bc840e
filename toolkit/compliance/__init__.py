"""Compliance: the judges of what a host or device was seen to be, kept pure so every rule is tested.

``hardening`` judges the observations of ``playbooks/hardening_check.yml`` for the incident SOP's step 12
(*verifikasi perbaikan*). ``models``, ``loader``, ``facts``, ``outcome``, ``server_checks`` and
``switch_checks`` hold the profiles of scheduled compliance (issue 14): rules as data (``profiles/*.yaml``
shipped with the package, plus a site's own directory), each with a typed check over a facts model and a
reversible remediation.
Nothing here reaches a target: the facts are gathered elsewhere, read-only, and handed in.
"""
