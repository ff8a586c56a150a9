"""moto_server, with one fix for reading captured mail: moto's /moto-api/data.json
fails (HTTP 500) once an S3 object's `status` property raises while being listed.
This wrapper makes that listing skip attributes that raise anything, then runs
moto's own server with the same arguments as `moto_server`.
"""
import json
import sys

from moto.moto_api._internal import responses


def model_data(self, request, full_url, headers):
    from moto.core.model_instances import model_data as tracked
    results = {}
    for service in sorted(tracked):
        results[service] = {}
        for name in sorted(tracked[service]):
            rows = []
            for instance in tracked[service][name].instances_tracked:
                row = {}
                for attr in dir(instance):
                    if attr.startswith("_"):
                        continue
                    try:
                        value = getattr(instance, attr)
                        json.dumps(value)
                    except Exception:
                        continue
                    row[attr] = value
                rows.append(row)
            results[service][name] = rows
    return 200, {"Content-Type": "application/javascript"}, json.dumps(results)


responses.MotoAPIResponse.model_data = model_data

from moto.server import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
