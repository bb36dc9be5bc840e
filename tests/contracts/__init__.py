"""One contract suite per port, run against every implementation of it.

Each module checks the documented behaviour of one `typing.Protocol` (not an adapter's internals) and is
parametrized over the implementations in ``conftest.py``; an adapter's own quirks stay in its own tests.

| port | suite | implementations |
|---|---|---|
| `toolkit.ports.tickets.TicketSystem` | test_ticket_system.py | embedded SQLite store |
| `toolkit.ports.jobs.JobQueue` | test_job_queue.py | SQLite queue |
| `toolkit.ports.directory.Directory` | test_directory.py | roles file; Keycloak realm roles (on the Keycloak fake) |
| `toolkit.ports.identity_provider.IdentityProvider` | test_identity_provider.py | Keycloak adapter (on the fake) |
| `toolkit.ports.notifier.Notifier` | test_notifier.py | ticket timeline; SMTP (to a real aiosmtpd sink) |
| `toolkit.ports.gateway.Gateway` | tests/integrations/gateway/test_contract.py | Express Gateway; Kong, WSO2 fakes |

Kong, WSO2 and Keycloak cannot run on this machine: their adapters meet fakes that follow the products'
documented APIs, and the same suite would run unchanged against the real products.
"""
