"""How the binary serves its web client over HTTP: from inside the binary, with the right headers."""

import shutil
import subprocess
import urllib.error
import urllib.request

from conftest import BINARY


def fetch(url: str, method: str = "GET", headers: dict | None = None):
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_the_page_and_its_assets_have_content_types_caching_and_a_content_security_policy(parley):
    status, headers, body = fetch(parley.http_url + "/")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Cache-Control"] == "no-cache"
    policy = headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert f"ws://127.0.0.1:{parley.port}" in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    page = body.decode()
    script = page.split('src="')[1].split('"')[0]
    style = page.split('href="/app.css')[1].split('"')[0]
    assert script.startswith("/app.js?v=")

    status, headers, body = fetch(parley.http_url + script)
    assert status == 200 and headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert int(headers["Content-Length"]) == len(body) > 10_000
    status, headers, _ = fetch(parley.http_url + "/app.css" + style)
    assert status == 200 and headers["Content-Type"] == "text/css; charset=utf-8"

    status, headers, _ = fetch(parley.http_url + "/app.js")
    assert headers["Cache-Control"] == "no-cache"
    assert fetch(parley.http_url + "/", headers={"If-None-Match": '"stale"'})[0] == 200
    etag = fetch(parley.http_url + "/")[1]["ETag"]
    assert fetch(parley.http_url + "/", headers={"If-None-Match": etag})[0] == 304
    status, headers, body = fetch(parley.http_url + "/", method="HEAD")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 0


def test_an_installed_binary_serves_the_client_with_no_files_beside_it(tmp_path):
    installed = tmp_path / "bin" / "parley"
    installed.parent.mkdir()
    shutil.copy(BINARY, installed)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    process = subprocess.Popen(
        [str(installed), "serve", "--port", "0"], cwd=elsewhere, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        line = process.stdout.readline()
        port = int(line.rsplit(":", 1)[1])
        status, _, body = fetch(f"http://127.0.0.1:{port}/")
        assert status == 200 and b'<div id="root">' in body
        assert (elsewhere / "parley.sqlite").exists()
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0


def test_web_root_serves_a_folder_instead_and_must_be_a_folder(start_parley, tmp_path):
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "index.html").write_text("<p>custom</p>")
    node = start_parley("--web-root", str(folder))
    assert fetch(node.http_url + "/")[2] == b"<p>custom</p>"
    result = subprocess.run([str(BINARY), "serve", "--web-root", str(tmp_path / "nope")], capture_output=True, text=True)
    assert result.returncode != 0 and "--web-root" in result.stderr
