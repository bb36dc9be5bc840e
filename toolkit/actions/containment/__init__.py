"""Actions of the CSIRT that contain an incident (isolate, quarantine, change access)."""
