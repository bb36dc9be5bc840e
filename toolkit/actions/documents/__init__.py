"""Actions that produce documents and evidence for the ticket (berita acara, reports, sealed evidence)."""
