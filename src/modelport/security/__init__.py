"""Who is asking, and may they: principals and scopes, JWTs, API keys, rate limits.

Transport-neutral: the HTTP server (:mod:`modelport.server.auth`) reads credentials from
headers and asks this package; nothing here knows about HTTP.
"""
