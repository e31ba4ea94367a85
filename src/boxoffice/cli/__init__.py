"""The ``boxoffice`` command line: typer commands that call services, never the database."""
