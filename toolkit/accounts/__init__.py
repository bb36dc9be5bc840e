"""Local accounts, personal access tokens and server-side sessions: the credential layer of the front door.

The embedded default has no identity provider, so the web portal and the HTTP API prove who a caller is
with what is kept here (``state_dir/accounts.db``). Only *credentials* live here: the person, and the SOP
roles that decide what they may do, still come from the `Directory` port, so an account can exist only
for a person the directory knows, and removing someone from the roles file ends their access.

One module per job:

- `config`: ``settings.accounts`` (lockout, session and token limits, argon2 cost);
- `models`: the validated names, scopes and the views returned to callers (never a secret);
- `passwords`: argon2id hashing, the strength rules, the dummy hash that keeps unknown users as slow as
  known ones;
- `credentials`: the formats of tokens, session ids and CSRF tokens, and their SHA-256 digests;
- `lockout`: the login-failure arithmetic, pure;
- `store`: the SQLite rows (`AccountStore`);
- `access`: who may administer accounts (a role trait, never a role name) and the audit entries;
- `admin`, `login`, `tokens`, `sessions`: the operations the CLI, the portal and the API call;
- `service`: `open_accounts(services)`, which wires them once per process.

This ``__init__`` imports nothing: ``toolkit.settings`` imports `config`, and the rest needs settings.
"""
