"""The warehouse itself: its roles, schemas and grants (roles.py), set up by `make setup` and by a deploy."""
