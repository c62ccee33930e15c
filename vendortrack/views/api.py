"""The JSON API under /api/v1 (stub)."""

from flask import Flask


def register(app: Flask) -> None:
    pass
