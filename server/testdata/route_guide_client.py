"""A RouteGuide client on Python grpcio that makes the gRPC tutorial's calls.

It checks every answer itself, prints one JSON object a line for each call
so that a test can check the answers again, and exits with status 1 on the
first wrong answer or failed call.

    python3 route_guide_client.py --db route_guide_db.json [ADDRESS]

ADDRESS defaults to localhost:50051, as in the tutorial. The stubs
route_guide_pb2 and route_guide_pb2_grpc, generated from
proto/routeguide/route_guide.proto, must be importable as the package
routeguide (put the directory holding routeguide/ on PYTHONPATH).
"""

import argparse
import json
import math
import sys

import grpc

from routeguide import route_guide_pb2 as pb
from routeguide import route_guide_pb2_grpc as pb_grpc

# Bounds every call, so that a wedged server fails the run instead of hanging it.
CALL_TIMEOUT_SECONDS = 20

BERKSHIRE = "Berkshire Valley Management Area Trail, Jefferson, NJ, USA"


class Mismatch(Exception):
    """An answer differs from what the tutorial expects."""


def emit(call, **fields):
    print(json.dumps({"call": call, **fields}, sort_keys=True), flush=True)


def expect(what, got, want):
    if got != want:
        raise Mismatch(f"{what}: got {got!r}, want {want!r}")


def point(latitude, longitude):
    return pb.Point(latitude=latitude, longitude=longitude)


def key(p):
    return (p.latitude, p.longitude)


def feature_dict(f):
    return {"name": f.name, "latitude": f.location.latitude, "longitude": f.location.longitude}


def note_dict(n):
    return {"latitude": n.location.latitude, "longitude": n.location.longitude, "message": n.message}


def read_db(path):
    """Reads the canonical dataset, a JSON array of features."""
    with open(path, encoding="utf-8") as f:
        return [
            pb.Feature(name=item["name"], location=point(item["location"]["latitude"], item["location"]["longitude"]))
            for item in json.load(f)
        ]


def haversine_metres(p, q):
    """Great-circle distance on a sphere of radius 6371 km, truncated to whole metres."""
    lat1, lat2 = math.radians(p.latitude / 1e7), math.radians(q.latitude / 1e7)
    dlat = lat2 - lat1
    dlon = math.radians(q.longitude / 1e7) - math.radians(p.longitude / 1e7)
    a = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return int(6371000 * 2 * math.atan2(math.sqrt(a), math.sqrt(1 - a)))


def get_feature(stub):
    # The tutorial's feature, then a point with none: an unnamed feature there.
    for p, want_name in ((point(409146138, -746188906), BERKSHIRE), (point(0, 0), "")):
        feature = stub.GetFeature(p, timeout=CALL_TIMEOUT_SECONDS)
        emit("GetFeature", request={"latitude": p.latitude, "longitude": p.longitude}, feature=feature_dict(feature))
        what = f"GetFeature({p.latitude}, {p.longitude})"
        expect(f"{what} name", feature.name, want_name)
        expect(f"{what} has a location", feature.HasField("location"), True)
        expect(f"{what} location", key(feature.location), key(p))


def list_features(stub, db):
    rectangle = pb.Rectangle(lo=point(400000000, -750000000), hi=point(420000000, -730000000))
    features = [feature_dict(f) for f in stub.ListFeatures(rectangle, timeout=CALL_TIMEOUT_SECONDS)]
    emit("ListFeatures", features=features)
    expect("ListFeatures count", len(features), 100)
    expect("ListFeatures features in dataset order", features, [feature_dict(f) for f in db])


def record_route(stub, db):
    # Every tenth feature, then a corner of the tutorial's rectangle, where no
    # feature is. A random pick, as the tutorial makes, would not be checkable.
    route = [f.location for f in db[::10]] + [point(400000000, -750000000)]
    summary = stub.RecordRoute(iter(route), timeout=CALL_TIMEOUT_SECONDS)
    emit(
        "RecordRoute",
        point_count=summary.point_count,
        feature_count=summary.feature_count,
        distance=summary.distance,
        elapsed_time=summary.elapsed_time,
    )
    known = {key(f.location) for f in db}
    expect("RecordRoute point_count", summary.point_count, len(route))
    expect("RecordRoute feature_count", summary.feature_count, sum(key(p) in known for p in route))
    expect("RecordRoute distance", summary.distance, sum(haversine_metres(p, q) for p, q in zip(route, route[1:])))


def route_chat(stub):
    notes = [
        (0, 1, "First message"),
        (0, 2, "Second message"),
        (0, 3, "Third message"),
        (0, 1, "Fourth message"),
        (0, 2, "Fifth message"),
        (0, 3, "Sixth message"),
    ]

    def generate():
        for lat, lon, message in notes:
            yield pb.RouteNote(location=point(lat, lon), message=message)

    replies = [note_dict(n) for n in stub.RouteChat(generate(), timeout=CALL_TIMEOUT_SECONDS)]
    emit("RouteChat", replies=replies)
    as_dicts = [{"latitude": lat, "longitude": lon, "message": m} for lat, lon, m in notes]
    want = [as_dicts[i] for i in (0, 1, 2, 0, 3, 1, 4, 2, 5)]
    expect("RouteChat replies", replies, want)


def invalid_argument(stub):
    calls = {
        "GetFeature latitude 950000000": lambda: stub.GetFeature(
            point(950000000, -746188906), timeout=CALL_TIMEOUT_SECONDS
        ),
        "ListFeatures without hi": lambda: list(
            stub.ListFeatures(pb.Rectangle(lo=point(0, 0)), timeout=CALL_TIMEOUT_SECONDS)
        ),
    }
    for name, call in calls.items():
        try:
            call()
        except grpc.RpcError as e:
            emit("error", case=name, code=e.code().name, details=e.details())
            expect(f"{name}: code", e.code(), grpc.StatusCode.INVALID_ARGUMENT)
        else:
            raise Mismatch(f"{name}: the call succeeded, want INVALID_ARGUMENT")
    # The channel still serves after the failed calls.
    feature = stub.GetFeature(point(409146138, -746188906), timeout=CALL_TIMEOUT_SECONDS)
    expect("GetFeature after the failed calls", feature.name, BERKSHIRE)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("address", nargs="?", default="localhost:50051", help="server address (default %(default)s)")
    parser.add_argument("--db", required=True, help="the canonical route_guide_db.json the server answers from")
    args = parser.parse_args()
    db = read_db(args.db)

    # A proxy from the environment must not stand between us and a local test server.
    with grpc.insecure_channel(args.address, options=[("grpc.enable_http_proxy", 0)]) as channel:
        grpc.channel_ready_future(channel).result(timeout=CALL_TIMEOUT_SECONDS)
        stub = pb_grpc.RouteGuideStub(channel)
        try:
            get_feature(stub)
            list_features(stub, db)
            record_route(stub, db)
            route_chat(stub)
            invalid_argument(stub)
        except (Mismatch, grpc.RpcError) as e:
            print(f"route_guide_client: {e}", file=sys.stderr)
            return 1
    emit("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
