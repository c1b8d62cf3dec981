"""moto in server mode, plus what execaudit's tests need that moto 5.2.5 lacks.

Started by the Rust test setup (tests/moto/harness.rs) and by .ci/run; binds 127.0.0.1 only.
It wraps moto's WSGI application and answers, with AWS's own wire shapes:

* CloudTrail ``LookupEvents`` (AWS JSON 1.1, ``X-Amz-Target: CloudTrail_20131101.LookupEvents``):
  one lookup attribute, ``StartTime``/``EndTime`` (epoch seconds, inclusive), ``MaxResults`` 1..50
  (default 50), an opaque ``NextToken`` bound to the query, newest first, ``CloudTrailEvent`` as
  a JSON string, only the last 90 days, and ``ThrottlingException`` when one account and region
  calls more than twice within a second (or on demand).
* S3 ``GetObject`` of an SSE-KMS object whose key is disabled: 400 ``KMS.DisabledException``;
  pending deletion: 400 ``KMS.KMSInvalidStateException`` (moto itself never checks key state),
  and 403 ``AccessDenied`` for objects under a key the test says the caller may not decrypt with.
* Throttling on demand: S3 503 ``SlowDown``, CloudTrail/Logs 400 ``ThrottlingException``.

Test-only endpoints under ``/execaudit-test/`` (JSON bodies):

* ``POST lookup-events {"account", "region", "records": [...]}`` loads CloudTrail records.
* ``POST throttle {"service": "s3"|"cloudtrail"|"logs", "count", "bucket"?, "region"?}``
  throttles the next ``count`` matching requests.
* ``POST deny-decrypt {"key_id"}``: GetObject of objects under that key answers AccessDenied.
* ``POST delay {"bucket", "ms"}``: every GetObject from that bucket waits first.
* ``GET requests?service=s3&bucket=B`` lists the requests seen (to check what a run fetched).
* ``GET ping``.

``POST /moto-api/reset`` clears this state too. ``--parent-pid`` makes the server exit when that
process is gone, so a test process that dies never leaves it running.
"""

import argparse
import base64
import hashlib
import io
import json
import os
import re
import threading
import time
import urllib.parse
from datetime import datetime, timezone

from werkzeug.serving import run_simple
from werkzeug.wrappers import Request, Response

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)

LOCK = threading.Lock()
NINETY_DAYS = 90 * 86400
ATTRIBUTE_KEYS = {
    "EventId",
    "EventName",
    "ReadOnly",
    "Username",
    "ResourceType",
    "ResourceName",
    "EventSource",
    "AccessKeyId",
}


class State:
    def __init__(self):
        self.records = {}  # (account, region) -> [record]
        self.lookup_calls = {}  # (account, region) -> [time of accepted calls]
        self.throttles = []  # [{"service", "count", "bucket"?, "region"?}]
        self.denied_keys = set()
        self.delays = {}  # bucket -> seconds
        self.requests = []  # [{"service", "method", "bucket", "key", "query", "region", "op"}]


STATE = State()


def json_response(status, body, headers=None):
    h = {"Content-Type": "application/x-amz-json-1.1"}
    h.update(headers or {})
    return Response(json.dumps(body), status=status, headers=h)


def json_error(status, code, message):
    return json_response(
        status, {"__type": code, "message": message}, {"x-amzn-ErrorType": code}
    )


def s3_error(status, code, message, resource=""):
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        f"<Resource>{resource}</Resource><RequestId>EXECAUDITTEST</RequestId></Error>"
    )
    return Response(body, status=status, headers={"Content-Type": "application/xml"})


def credential_scope(environ):
    """(access key, region, service) from the SigV4 Authorization header."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    m = re.search(r"Credential=([^/]+)/[0-9]{8}/([^/]+)/([^/]+)/aws4_request", auth)
    if not m:
        return None, None, None
    return m.group(1), m.group(2), m.group(3)


def account_of(access_key):
    from moto.iam.models import get_account_id_from

    return get_account_id_from(access_key or "")


def take_throttle(service, bucket=None, region=None):
    with LOCK:
        for t in STATE.throttles:
            if t["service"] != service or t["count"] <= 0:
                continue
            if t.get("bucket") and t["bucket"] != bucket:
                continue
            if t.get("region") and t["region"] != region:
                continue
            t["count"] -= 1
            return True
    return False


def event_time(record):
    t = record.get("eventTime", "")
    try:
        return datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        return 0.0


def attribute_value(record, key):
    ui = record.get("userIdentity") or {}
    if key == "EventId":
        return [record.get("eventID")]
    if key == "EventName":
        return [record.get("eventName")]
    if key == "EventSource":
        return [record.get("eventSource")]
    if key == "ReadOnly":
        return [str(record.get("readOnly", False)).lower()]
    if key == "AccessKeyId":
        return [ui.get("accessKeyId")]
    if key == "Username":
        return [username(record)]
    if key == "ResourceName":
        return [r.get("ARN") for r in record.get("resources") or []]
    if key == "ResourceType":
        return [r.get("type") for r in record.get("resources") or []]
    return []


def username(record):
    ui = record.get("userIdentity") or {}
    if ui.get("userName"):
        return ui["userName"]
    arn = ui.get("arn") or ""
    return arn.rsplit("/", 1)[-1] if "/" in arn else None


def as_lookup_event(record):
    e = {
        "EventId": record.get("eventID"),
        "EventName": record.get("eventName"),
        "ReadOnly": str(record.get("readOnly", False)).lower(),
        "EventTime": event_time(record),
        "EventSource": record.get("eventSource"),
        "Resources": [
            {"ResourceType": r.get("type"), "ResourceName": r.get("ARN")}
            for r in record.get("resources") or []
        ],
        "CloudTrailEvent": json.dumps(record, separators=(",", ":")),
    }
    ak = (record.get("userIdentity") or {}).get("accessKeyId")
    if ak:
        e["AccessKeyId"] = ak
    u = username(record)
    if u:
        e["Username"] = u
    return e


def lookup_events(environ, body):
    access_key, region, _ = credential_scope(environ)
    account = account_of(access_key)
    try:
        req = json.loads(body or b"{}")
    except ValueError:
        return json_error(400, "SerializationException", "body is not JSON")
    if take_throttle("cloudtrail", region=region):
        return json_error(400, "ThrottlingException", "Rate exceeded")
    now = time.time()
    with LOCK:
        calls = [t for t in STATE.lookup_calls.get((account, region), []) if t > now - 0.95]
        if len(calls) >= 2:
            return json_error(400, "ThrottlingException", "Rate exceeded")
        calls.append(now)
        STATE.lookup_calls[(account, region)] = calls
        STATE.requests.append(
            {"service": "cloudtrail", "op": "LookupEvents", "region": region,
             "account": account, "query": req, "t": now}
        )
    attrs = req.get("LookupAttributes") or []
    if len(attrs) > 1:
        return json_error(
            400,
            "InvalidLookupAttributesException",
            "You cannot specify more than one lookup attribute.",
        )
    for a in attrs:
        if a.get("AttributeKey") not in ATTRIBUTE_KEYS or not a.get("AttributeValue"):
            return json_error(400, "InvalidLookupAttributesException", "Invalid lookup attribute.")
    max_results = req.get("MaxResults", 50)
    if not isinstance(max_results, int) or not 1 <= max_results <= 50:
        return json_error(
            400, "InvalidMaxResultsException", "MaxResults must be between 1 and 50."
        )
    end = float(req.get("EndTime", now))
    start = float(req.get("StartTime", now - NINETY_DAYS))
    if start > end:
        return json_error(
            400, "InvalidTimeRangeException", "StartTime must be before EndTime."
        )
    start = max(start, now - NINETY_DAYS)
    query_id = hashlib.sha256(
        json.dumps([attrs, req.get("StartTime"), req.get("EndTime"), max_results]).encode()
    ).hexdigest()[:16]
    offset = 0
    if req.get("NextToken"):
        try:
            tok = json.loads(base64.b64decode(req["NextToken"]))
            if tok["q"] != query_id:
                raise ValueError("token of another query")
            offset = int(tok["o"])
        except (ValueError, KeyError, TypeError):
            return json_error(400, "InvalidNextTokenException", "Invalid NextToken.")
    with LOCK:
        records = list(STATE.records.get((account, region), []))
    picked = []
    for r in records:
        t = event_time(r)
        if not start <= t <= end:
            continue
        if attrs:
            key, value = attrs[0]["AttributeKey"], attrs[0]["AttributeValue"]
            if value not in attribute_value(r, key):
                continue
        picked.append(r)
    picked.sort(key=lambda r: (event_time(r), r.get("eventID") or ""), reverse=True)
    page = picked[offset : offset + max_results]
    out = {"Events": [as_lookup_event(r) for r in page]}
    if offset + max_results < len(picked):
        out["NextToken"] = base64.b64encode(
            json.dumps({"q": query_id, "o": offset + max_results}).encode()
        ).decode()
    return json_response(200, out)


def s3_object_key_state(bucket, key):
    """The KMS key id and state of an SSE-KMS object, or (None, None)."""
    from moto.kms.models import kms_backends
    from moto.s3.models import s3_backends

    where = s3_backends.bucket_accounts.get(bucket)
    if not where:
        return None, None
    partition, account = where
    obj = s3_backends[account][partition].get_object(bucket, key)
    if obj is None or getattr(obj, "encryption", None) != "aws:kms" or not obj.kms_key_id:
        return None, None
    key_id = obj.kms_key_id
    m = re.match(r"arn:aws:kms:([^:]+):([^:]+):key/(.+)", key_id)
    if m:
        candidates = [(m.group(2), m.group(1), m.group(3))]
    else:
        candidates = [(account, r, key_id) for r in list(kms_backends[account].keys())]
    for acct, region, kid in candidates:
        try:
            k = kms_backends[acct][region].describe_key(kid)
            return k.arn, k.key_state
        except Exception:  # noqa: BLE001 - any lookup failure means "not this region"
            continue
    return key_id, None


def intercept_s3(environ):
    access_key, region, service = credential_scope(environ)
    if service != "s3":
        return None
    path = urllib.parse.unquote(environ.get("PATH_INFO", ""))
    parts = path.lstrip("/").split("/", 1)
    bucket = parts[0]
    key = parts[1] if len(parts) > 1 else ""
    query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    method = environ.get("REQUEST_METHOD")
    if method == "GET" and key:
        op = "GetObject"
    elif method == "GET" and "list-type" in query:
        op = "ListObjectsV2"
    elif method == "GET" and not key and not query:
        op = "ListObjects"
    elif method == "HEAD":
        op = "HeadObject" if key else "HeadBucket"
    else:
        op = method
    with LOCK:
        STATE.requests.append(
            {"service": "s3", "op": op, "bucket": bucket, "key": key, "region": region,
             "query": {k: v[0] for k, v in query.items()}, "t": time.time()}
        )
    if take_throttle("s3", bucket=bucket):
        return s3_error(503, "SlowDown", "Please reduce your request rate.", path)
    if op != "GetObject":
        return None
    delay = STATE.delays.get(bucket)
    if delay:
        time.sleep(delay)
    key_arn, state = s3_object_key_state(bucket, key)
    if key_arn is None:
        return None
    if key_arn in STATE.denied_keys or key_arn.rsplit("/", 1)[-1] in STATE.denied_keys:
        return s3_error(403, "AccessDenied", "Access Denied", path)
    if state == "Disabled":
        return s3_error(400, "KMS.DisabledException", f"{key_arn} is disabled.", path)
    if state == "PendingDeletion":
        return s3_error(
            400, "KMS.KMSInvalidStateException", f"{key_arn} is pending deletion.", path
        )
    return None


def test_endpoint(request):
    name = request.path[len("/execaudit-test/") :]
    raw = request.get_data()
    body = json.loads(raw) if raw else {}
    if name == "ping":
        return json_response(200, {"ok": True})
    if name == "lookup-events":
        with LOCK:
            STATE.records.setdefault((body["account"], body["region"]), []).extend(
                body["records"]
            )
        return json_response(200, {"loaded": len(body["records"])})
    if name == "throttle":
        with LOCK:
            STATE.throttles.append(body)
        return json_response(200, {})
    if name == "deny-decrypt":
        with LOCK:
            STATE.denied_keys.add(body["key_id"])
        return json_response(200, {})
    if name == "delay":
        with LOCK:
            STATE.delays[body["bucket"]] = body["ms"] / 1000.0
        return json_response(200, {})
    if name == "requests":
        want = request.args
        with LOCK:
            seen = [
                r
                for r in STATE.requests
                if all(str(r.get(k)) == v for k, v in want.items())
            ]
        return json_response(200, {"requests": seen})
    return json_response(404, {"error": f"no test endpoint {name}"})


class App:
    def __init__(self):
        self.moto = DomainDispatcherApplication(create_backend_app)

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/execaudit-test/"):
            return test_endpoint(Request(environ))(environ, start_response)
        if path == "/moto-api/reset":
            global STATE
            STATE = State()
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        # The Rust SDK sends `CloudTrail_20131101.LookupEvents`; botocore the fully qualified name.
        if target.endswith("CloudTrail_20131101.LookupEvents"):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            return lookup_events(environ, body)(environ, start_response)
        if "Logs_20140328." in target:
            _, region, _ = credential_scope(environ)
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            try:
                args = json.loads(body or b"{}")
            except ValueError:
                args = {}
            with LOCK:
                STATE.requests.append(
                    {"service": "logs", "op": target.rsplit(".", 1)[1], "region": region,
                     "group": args.get("logGroupName"), "stream": args.get("logStreamName")}
                )
            if take_throttle("logs", region=region):
                return json_error(400, "ThrottlingException", "Rate exceeded")(
                    environ, start_response
                )
        response = intercept_s3(environ)
        if response is not None:
            return response(environ, start_response)
        return self.moto(environ, start_response)


def watch_parent(pid):
    while True:
        try:
            os.kill(pid, 0)
        except OSError:
            os._exit(0)
        time.sleep(0.5)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--parent-pid", type=int)
    args = p.parse_args()
    if args.parent_pid:
        threading.Thread(target=watch_parent, args=(args.parent_pid,), daemon=True).start()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    run_simple(
        "127.0.0.1",
        args.port,
        App(),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
