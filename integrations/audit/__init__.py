"""Audit chains on other stores than the embedded SQLite file (`toolkit.audit.port.AuditTrail`)."""
