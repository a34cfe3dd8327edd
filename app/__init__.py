"""CSGN Studio Qt application (the editor)."""
