"""Public pages (and later the admin UI, render cache and Statuspage v2 JSON)."""
