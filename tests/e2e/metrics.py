"""Reading a node's Prometheus metrics in tests."""

import urllib.request


def metrics(node) -> dict[str, float]:
    """Every sample of the node's `/metrics`, by its name with labels (`parley_errors_total{code="internal"}`)."""
    with urllib.request.urlopen(node.http_url + "/metrics", timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        lines = response.read().decode().splitlines()
    values = {}
    for line in lines:
        if line.startswith("#") or not line:
            continue
        name, value = line.rsplit(" ", 1)
        values[name] = float(value)
    return values
