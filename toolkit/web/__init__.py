"""The web front door (issue 13): the HTTP API and the server-rendered portal, served by uvicorn."""
