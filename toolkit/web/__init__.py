"""The front door over HTTP: the API under ``/api/v1`` (and, from `toolkit.web.portal`, the portal).

- `config`: ``settings.http`` (bind address, root path, trusted proxies, body limit, OIDC bearer tokens);
  pydantic only, because the one settings model embeds it;
- `app`: `create_app(services, settings)`, the one ASGI application;
- `auth`: who a request is (personal access token, OIDC bearer JWT, portal session cookie + CSRF);
- `oidc`: verifying an OIDC bearer JWT against the provider's JWKS;
- `errors`: the JSON error body and the `ToolkitError` -> status mapping;
- `limits`: the body-size limit, enforced before a body is read whole;
- `server`: running the app under uvicorn (``spbe api-server``, ``spbe serve --http``);
- `api/`: the routes, each calling the command layer with the request's `Principal`;
- `portal/`: the server-rendered portal in Bahasa Indonesia (`portal_router`).

This ``__init__`` imports nothing: ``toolkit.settings`` imports `config`.
"""
