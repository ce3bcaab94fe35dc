"""The ODART server: ingest, storage, escalation, notifications and the staff panel."""
