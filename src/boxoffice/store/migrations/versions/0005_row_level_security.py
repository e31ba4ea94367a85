"""row-level security by tenant (PostgreSQL): the database's own tenant guard

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 10:25:00.000000

Every tenant-owned table gets ``ENABLE`` and ``FORCE ROW LEVEL SECURITY`` and one policy: a
row is visible and writable when its ``tenant_id`` is the transaction's
``boxoffice.tenant_id`` setting, or when the transaction set ``boxoffice.bypass_rls`` (the
explicitly unscoped forms: authentication lookups, operator commands). The application runs its
queries as the ``boxoffice_app`` role, created here (roles belong to the cluster, so creating it
must tolerate another database having done so first), because superusers and roles with
BYPASSRLS ignore these policies. SQLite has no row-level security: nothing to do there.
"""

from __future__ import annotations

from alembic import op


revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

APP_ROLE = "boxoffice_app"
POLICY = "tenant_isolation"
#: The tenant-owned tables as of this revision (later tables get their policy in their own
#: migration).
TABLES = (
    "api_users",
    "attribute_definitions",
    "audit_entries",
    "brands",
    "catalogue_translations",
    "channel_types",
    "countries",
    "customer_sources",
    "interface_users",
    "languages",
    "memberships",
    "rewards",
    "statements",
    "stores",
    "tag_groups",
    "tenant_origins",
    "api_keys",
    "customer_properties",
    "customers",
    "tags",
    "consent_changes",
    "customer_addresses",
    "customer_attribute_values",
    "customer_channels",
    "customer_consents",
    "customer_sessions",
    "customer_source_records",
    "customer_subscriptions",
    "customer_tags",
    "customer_tokens",
    "device_tokens",
    "interests",
    "timeline_entries",
)
#: The rule as this revision wrote it; 0007 rewrote it with the settings in scalar subqueries
#: (read once per statement): a later table's policy takes 0007's ``RULE``.
RULE = (
    "current_setting('boxoffice.bypass_rls', true) = 'on' "
    "OR tenant_id = NULLIF(current_setting('boxoffice.tenant_id', true), '')::bigint"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'boxoffice_app') THEN
                CREATE ROLE boxoffice_app NOLOGIN;
            END IF;
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN
                NULL;  -- created meanwhile by another database's migration
            WHEN insufficient_privilege THEN
                RAISE EXCEPTION 'the role boxoffice_app is missing and % may not create it',
                    current_user
                    USING HINT = 'as a superuser: CREATE ROLE boxoffice_app NOLOGIN';
        END
        $$
        """
    )
    # The migrating (owner) role must be able to SET ROLE to it when it is not a superuser.
    op.execute(
        """
        DO $$
        BEGIN
            IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
                EXECUTE format('GRANT boxoffice_app TO %I', current_user);
            END IF;
        EXCEPTION WHEN insufficient_privilege OR invalid_grant_operation THEN
            RAISE WARNING 'could not grant boxoffice_app to %: grant it as a superuser',
                current_user;
        END
        $$
        """
    )
    op.execute(
        f"""
        DO $$
        BEGIN
            EXECUTE format('GRANT USAGE ON SCHEMA %I TO {APP_ROLE}', current_schema());
            EXECUTE format(
                'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO {APP_ROLE}',
                current_schema());
            EXECUTE format(
                'GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA %I TO {APP_ROLE}',
                current_schema());
            EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I '
                'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP_ROLE}', current_schema());
            EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I '
                'GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {APP_ROLE}', current_schema());
        END
        $$
        """
    )
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY {POLICY} ON {table} USING ({RULE}) WITH CHECK ({RULE})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    # The role stays: it belongs to the cluster, and other databases may use it.
    op.execute(
        f"""
        DO $$
        BEGIN
            EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I '
                'REVOKE ALL ON TABLES FROM {APP_ROLE}', current_schema());
            EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I '
                'REVOKE ALL ON SEQUENCES FROM {APP_ROLE}', current_schema());
            EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM {APP_ROLE}',
                current_schema());
            EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA %I FROM {APP_ROLE}',
                current_schema());
            EXECUTE format('REVOKE USAGE ON SCHEMA %I FROM {APP_ROLE}', current_schema());
        END
        $$
        """
    )
