"""Application commands: every state-changing operation, each taking a `Principal` and asking the
one `toolkit.domain.policy.Policy` before it changes anything. The CLI (and the HTTP API) call only these."""
