"""A database's schema as reflected, whole: to tell two schemas apart beyond what alembic's autogenerate compares."""

from sqlalchemy import inspect, text


def described(connection):
    """Every table's columns, keys, indexes and checks, by name (and on SQLite whether its ids are never reused)."""
    inspector = inspect(connection)
    tables = {}
    for table in sorted(set(inspector.get_table_names()) - {"alembic_version", "sqlite_sequence"}):
        tables[table] = {
            # By name: a column added back comes last, which no statement tells apart.
            "columns": sorted((c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                              for c in inspector.get_columns(table)),
            "primary_key": inspector.get_pk_constraint(table),
            "foreign_keys": sorted((fk["name"] or "", fk["constrained_columns"], fk["referred_table"],
                                    fk["referred_columns"], fk["options"]) for fk in inspector.get_foreign_keys(table)),
            "indexes": sorted((index["name"], index["column_names"], index["unique"],
                               {key: str(value) for key, value in index.get("dialect_options", {}).items()})
                              for index in inspector.get_indexes(table)),
            "unique": sorted((u["name"], u["column_names"]) for u in inspector.get_unique_constraints(table)),
            "checks": sorted((c["name"] or "", c["sqltext"]) for c in inspector.get_check_constraints(table)),
        }
        if connection.dialect.name == "sqlite":
            ddl = connection.execute(text("SELECT sql FROM sqlite_master WHERE name = :table"),
                                     {"table": table}).scalar_one()
            tables[table]["autoincrement"] = "AUTOINCREMENT" in ddl
    return tables
