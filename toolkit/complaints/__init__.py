"""Complaints, suggestions and feedback (*pengaduan, saran dan masukan*): the ``pengaduan`` service's intake
(CLI, portal, HTTP API, the complaints mailbox over IMAP, SP4N-LAPOR entered by staff), its forward, answer
and close, and the text a koordinator pastes back into SP4N-LAPOR."""
