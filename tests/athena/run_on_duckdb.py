"""Runs execaudit's Athena SQL on DuckDB over an organisation trail folder.

    python run_on_duckdb.py CREATE_TABLE.sql EXTRACT.sql TRAIL_DIR OUT.json

The CREATE EXTERNAL TABLE statement (Athena/Hive) is transpiled with sqlglot into a DuckDB
table with the same column shapes, plus the partition columns and Athena's "$path"; every log
file under TRAIL_DIR (``AWSLogs/<org>/<account>/CloudTrail/<region>/YYYY/MM/DD/``) is loaded
as the CloudTrail SerDe would read it (cloudtrail_serde.py); the extraction statement is
transpiled from Trino to DuckDB and run. OUT.json gets the event ids it returned, the rows it
read and the transpiled SQL. Called by tests/athena_sql.rs.
"""

import gzip
import json
import os
import re
import sys
import tempfile

import duckdb
import sqlglot
from sqlglot import exp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cloudtrail_serde  # noqa: E402

LAYOUT = re.compile(
    r"AWSLogs/(?:o-[^/]+/)?(\d{12})/CloudTrail/([^/]+)/(\d{4}/\d{2}/\d{2})/[^/]+$"
)


def duck_struct(shape):
    fields = ", ".join(
        f"{k} {duck_struct(v) if isinstance(v, dict) else 'VARCHAR'}" for k, v in shape.items()
    )
    return f"STRUCT({fields})"


def main():
    create_sql, extract_sql, trail_dir, out_path = sys.argv[1:5]
    ddl = sqlglot.parse_one(open(create_sql).read(), read="athena")
    table = ddl.this.this  # exp.Table inside the Schema
    partitions = []
    for prop in ddl.args["properties"].expressions:
        if isinstance(prop, exp.PartitionedByProperty):
            partitions = [c.this.name for c in prop.this.expressions]
    assert partitions == ["account", "region", "day"], partitions
    con = duckdb.connect()
    con.execute(f'CREATE SCHEMA IF NOT EXISTS "{table.db}"')
    duck_ddl = ddl.copy()
    duck_ddl.set("properties", None)
    con.execute(duck_ddl.sql("duckdb"))
    for c in partitions + ["$path"]:
        con.execute(f'ALTER TABLE "{table.db}"."{table.name}" ADD COLUMN "{c}" VARCHAR')
    types = {
        r[0]: r[1] for r in con.execute(f'DESCRIBE "{table.db}"."{table.name}"').fetchall()
    }
    # The SerDe emulation fills useridentity with exactly the DDL's fields.
    want = duckdb.sql(f"SELECT NULL::{duck_struct(cloudtrail_serde.USERIDENTITY)} AS u").types[0]
    assert str(want) == types["useridentity"], (str(want), types["useridentity"])

    rows = 0
    with tempfile.NamedTemporaryFile("w", suffix=".ndjson", delete=False) as nd:
        for base, _, files in os.walk(trail_dir):
            for f in sorted(files):
                path = os.path.join(base, f)
                m = LAYOUT.search(path.replace(os.sep, "/"))
                if not m or "CloudTrail-Digest" in path:
                    continue
                opener = gzip.open if f.endswith(".gz") else open
                with opener(path, "rt") as fh:
                    doc = json.load(fh)
                for rec in doc.get("Records", []):
                    r = cloudtrail_serde.row(rec)
                    r.update(account=m.group(1), region=m.group(2), day=m.group(3))
                    r["$path"] = path
                    nd.write(json.dumps(r) + "\n")
                    rows += 1
    columns = "{" + ", ".join(f"'{k}': '{v}'" for k, v in types.items()) + "}"
    con.execute(
        f'INSERT INTO "{table.db}"."{table.name}" BY NAME '
        f"SELECT * FROM read_json('{nd.name}', format='newline_delimited', columns={columns})"
    )
    os.unlink(nd.name)

    duck_sql = sqlglot.transpile(open(extract_sql).read(), read="trino", write="duckdb")[0]
    cur = con.execute(duck_sql)
    names = [d[0] for d in cur.description]
    result = cur.fetchall()
    ids = [r[names.index("eventid")] for r in result]
    # The useridentity column must be the JSON of the struct, as Athena prints it.
    for r in result[:50]:
        u = r[names.index("useridentity")]
        assert u is None or isinstance(json.loads(u), dict), u
    with open(out_path, "w") as out:
        json.dump({"eventids": ids, "rows_loaded": rows, "columns": names, "sql": duck_sql}, out)


if __name__ == "__main__":
    main()
