"""Compliance: the judges of what a host or device was seen to be, kept pure so every rule is tested.

``hardening`` judges the observations of ``playbooks/hardening_check.yml`` for the incident SOP's step 12
(*verifikasi perbaikan*). ``models``, ``loader``, ``facts``, ``outcome``, ``server_checks``,
``switch_checks`` and ``gateway_checks`` hold the profiles of scheduled compliance (issue 14): rules as data
(``profiles/*.yaml`` shipped with the package, plus a site's own directory), each with a typed check over a
facts model and a reversible remediation. Those judges never reach a target: the facts are gathered
elsewhere, read-only, and handed in. ``gather_gateway`` and ``remediate_gateway`` are the ``gateway`` kind's
`Gatherer` and `Remediator` (the ``splp`` profile): they reach the API gateway and Keycloak only through the
ports the composition root hands them.
"""
