"""The schedule service: its database's migrations."""
