"""Clients of outside service desks behind the `toolkit.ports.desk.DeskClient` port.

``redmine`` (Redmine 4.2/5.x REST API), ``glpi`` (GLPI 9.5/10.x REST API, ``apirest.php``) and ``rest`` (a
home-grown helpdesk's REST API, described by data: `integrations.desks.rest_spec`) live here; each client is
found by the desk mapping's ``kind`` through the registry group ``spbe.desks`` (wired by the composition root,
not imported by the core).
"""
