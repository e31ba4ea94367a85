"""Storage: SQLAlchemy models, the tenant guard, repositories, unit of work, migrations."""
