"""The HTTP adapter: app factory, v1 routes, error mapping, OpenAPI. See ``docs/api.md``."""

from modelport.server.app import ModelportAPI, create_app, factory

__all__ = ["ModelportAPI", "create_app", "factory"]
