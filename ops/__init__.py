"""Operations: the embedded PostgreSQL cluster, migrations, set-up scripts."""
