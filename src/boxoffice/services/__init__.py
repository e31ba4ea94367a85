"""Use cases. Each owns its transaction and returns domain views, never ORM rows."""
