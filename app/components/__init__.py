"""Components and component groups."""
