"""Tokens and their scopes, the token API, and secrets sealed at rest."""
