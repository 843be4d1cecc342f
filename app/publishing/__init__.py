"""Publishing: Markdown rendering (and later incidents-as-code and static export)."""
