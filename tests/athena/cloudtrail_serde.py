"""What Athena's CloudTrail SerDe makes of a CloudTrail record, for the tests.

The table in queries/athena/create_table.sql declares the columns; the SerDe matches record
keys to them case-insensitively, keeps the JSON text of string columns that hold objects
(requestparameters, responseelements, ...), and fills a struct column with the declared fields
only (absent ones null). ``row(record)`` gives a record's column values that way (structs as
dicts with lower-case keys); ``athena_cells(record, columns)`` the strings GetQueryResults
returns for the extraction query's columns (``useridentity`` as the JSON of the struct, which
is what ``json_format(CAST(useridentity AS JSON))`` prints). tests/athena_sql.py checks that
USERIDENTITY below is the DDL's own type.
"""

import json

# The declared fields of the useridentity struct (nested dicts are structs).
USERIDENTITY = {
    "type": None,
    "principalid": None,
    "arn": None,
    "accountid": None,
    "invokedby": None,
    "accesskeyid": None,
    "username": None,
    "onbehalfof": {"userid": None, "identitystorearn": None},
    "sessioncontext": {
        "attributes": {"mfaauthenticated": None, "creationdate": None},
        "sessionissuer": {
            "type": None,
            "principalid": None,
            "arn": None,
            "accountid": None,
            "username": None,
        },
        "ec2roledelivery": None,
        "sourceidentity": None,
    },
}
TLSDETAILS = {"tlsversion": None, "ciphersuite": None, "clientprovidedhostheader": None}
RESOURCE = {"arn": None, "accountid": None, "type": None}

STRING_COLUMNS = [
    "eventversion", "eventtime", "eventsource", "eventname", "awsregion", "sourceipaddress",
    "useragent", "errorcode", "errormessage", "requestparameters", "responseelements",
    "additionaleventdata", "requestid", "eventid", "readonly", "eventtype", "apiversion",
    "recipientaccountid", "serviceeventdetails", "sharedeventid", "vpcendpointid", "eventcategory",
]


def _lower_keys(obj):
    return {k.lower(): v for k, v in obj.items()} if isinstance(obj, dict) else {}


def _string(v):
    """A string column's value: text as is, anything else as its JSON text."""
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    return json.dumps(v, separators=(",", ":"))


def _struct(shape, value):
    if not isinstance(value, dict):
        return None
    low = _lower_keys(value)
    out = {}
    for name, sub in shape.items():
        v = low.get(name)
        out[name] = _struct(sub, v) if isinstance(sub, dict) else _string(v)
    return out


def row(record):
    """The table row of one record: column name -> value (structs as dicts)."""
    low = _lower_keys(record)
    out = {c: _string(low.get(c)) for c in STRING_COLUMNS}
    out["useridentity"] = _struct(USERIDENTITY, low.get("useridentity"))
    out["tlsdetails"] = _struct(TLSDETAILS, low.get("tlsdetails"))
    res = low.get("resources")
    out["resources"] = [_struct(RESOURCE, r) for r in res] if isinstance(res, list) else None
    return out


def athena_cells(record, columns, path="s3://trail/AWSLogs/o-test/file.json.gz"):
    """The cells GetQueryResults returns for one record (None for SQL NULL)."""
    r = row(record)
    cells = []
    for c in columns:
        if c == "useridentity":
            v = r["useridentity"]
            cells.append(None if v is None else json.dumps(v, separators=(",", ":")))
        elif c == "object":
            cells.append(path)
        else:
            cells.append(r.get(c))
    return cells
