"""The staff admin UI under /admin: server-rendered pages calling the same services as the API."""
