"""The HTTP edge: the WSGI app, the HTTP API, the OpenAI-compatible API, API keys, serving."""
