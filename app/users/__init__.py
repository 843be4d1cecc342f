"""Staff users of the admin UI: accounts, passwords, sign-in limits and sessions."""
