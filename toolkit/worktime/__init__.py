"""Local time and working days: the deployment's zone (WIB, WITA, WIT), office hours, national holidays
and *cuti bersama*, and the SLA clocks the SOPs state in *hari kerja* or *jam kerja*.

``config`` is the settings model (``settings.worktime``); ``calendar`` the arithmetic (`WorkCalendar`);
``cuti_bersama`` the site file; ``calendars`` which zone and calendar a service's tickets use.
"""
