"""The tutorial's own React page, served by a development server on another port, pointed at Parley."""

import functools
import http.server
import os
import shutil
import subprocess
import threading
from pathlib import Path

from selenium.webdriver.common.by import By

from conftest import free_port

PAGE = Path(__file__).parent / "tutorial_page"

# Test instrumentation injected before the page loads: records the page's sockets so the test knows when they are
# open (the tutorial's page shows no connection state).
WATCH_SOCKETS = """
window.__sockets = [];
const NativeWebSocket = window.WebSocket;
window.WebSocket = function (...args) { const socket = new NativeWebSocket(...args); window.__sockets.push(socket); return socket; };
window.WebSocket.prototype = NativeWebSocket.prototype;
"""


def build_tutorial_page(folder: Path, parley_port: int) -> None:
    source = folder / "src"
    shutil.copytree(PAGE, source)
    app = source / "App.jsx"
    app.write_text(app.read_text().replace("ws://127.0.0.1:8000/ws", f"ws://127.0.0.1:{parley_port}/ws"))
    subprocess.run(
        ["esbuild", str(source / "index.jsx"), "--bundle", "--jsx=automatic", "--log-level=warning",
         '--define:process.env.NODE_ENV="development"', f"--outfile={folder / 'app.js'}"],
        check=True,
        env={**os.environ, "NODE_PATH": "/usr/share/nodejs"},
    )
    (folder / "index.html").write_text('<!doctype html><div id="root"></div><script src="app.js"></script>')


def test_the_tutorials_react_page_chats_through_parley_from_a_development_server(parley, open_browser, tmp_path):
    build_tutorial_page(tmp_path, parley.port)
    port = free_port()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        first, second = (open_browser(f"http://localhost:{port}/", init_script=WATCH_SOCKETS) for _ in range(2))
        for page in (first, second):
            page.wait(lambda: page.driver.find_element(By.TAG_NAME, "h1").text == "Chat em Tempo Real")
            page.wait(lambda: page.driver.execute_script("return window.__sockets.some(s => s.readyState === 1)"))

        def paragraphs(page):
            return [p.text for p in page.driver.find_elements(By.TAG_NAME, "p")]

        first.driver.find_element(By.CSS_SELECTOR, "input[placeholder='Digite sua mensagem']").send_keys("Teste")
        first.driver.find_element(By.XPATH, "//button[text()='Enviar']").click()
        first.wait(lambda: paragraphs(first) == ["Mensagem recebida: Teste"])
        second.wait(lambda: paragraphs(second) == ["Mensagem recebida: Teste"])
        second.quit()
        first.wait(lambda: paragraphs(first) == ["Mensagem recebida: Teste", "Um cliente desconectou."])
    finally:
        server.shutdown()
