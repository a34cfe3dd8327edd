"""CSGN Studio Qt application (the editor)."""

APP_NAME = "CSGN Studio"
