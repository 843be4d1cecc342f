"""Staff authentication: API tokens."""
